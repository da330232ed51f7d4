"""One event is paid once, whatever cover it is claimed on: payouts on another enrollment of the
same member in the same plan (``PriorPayout.other_cover``) reject the same stay or event, and
count for no cap or count of this cover. Pure Python: the rules come from the shipped fixture."""

from __future__ import annotations

import datetime
from decimal import Decimal

from plans.engine.payout import ClaimFacts, PriorPayout, decide, repeat_of
from plans.tests.test_payout_jilin import judge, pays, rejects, rules_of, stay

D = datetime.date
M = Decimal
START = D(2024, 1, 1)


def elsewhere(benefit: str, day: datetime.date, amount: str = "500.00", days: int | None = None):
    """A payout of ``benefit`` on the member's other cover in the plan."""
    return PriorPayout(
        benefit=benefit,
        amount=M(amount),
        event_date=day,
        admission_date=day if days is not None else None,
        discharge_date=day + datetime.timedelta(days=days) if days is not None else None,
        other_cover=True,
    )


def test_the_same_stay_paid_on_other_cover_is_rejected_and_flagged():
    decision = judge(
        stay(D(2024, 3, 1), 10), [elsewhere("hospital_allowance", D(2024, 3, 1), days=10)]
    )
    rejects(decision, "benefit_already_paid")
    assert decision.flags == ("paid_on_other_cover",)
    assert decision.lines[0].label == (
        "同一次住院（2024-03-01 至 2024-03-11）已在该会员同一计划的另一份参保上给付 500元，"
        "不能重复给付"
    )
    # The flag is for staff; the public JSON keeps the contract's shape.
    assert decision.as_json()["reasons"] == ["benefit_already_paid"]
    assert "flags" not in decision.as_json()


def test_a_stay_overlapping_one_paid_on_other_cover_is_rejected():
    prior = [elsewhere("hospital_allowance", D(2024, 3, 1), days=10)]
    decision = judge(stay(D(2024, 3, 5), 10), prior)
    rejects(decision, "benefit_already_paid")
    assert decision.flags == ("paid_on_other_cover",)


def test_a_transfer_on_the_discharge_day_after_other_cover_paid_is_not_a_repeat():
    prior = [elsewhere("hospital_allowance", D(2024, 3, 1), days=10)]
    decision = judge(stay(D(2024, 3, 11), 5), prior)
    pays(decision, "250.00")
    assert decision.flags == ()


def test_payouts_on_other_cover_count_for_no_cap_or_count_of_this_cover():
    # On this cover the period cap (9000) and the two paid stays a period would be used up.
    prior = [
        elsewhere("hospital_allowance", D(2024, 2, 1), "4500.00", days=90),
        elsewhere("hospital_allowance", D(2024, 5, 10), "4500.00", days=90),
    ]
    pays(judge(stay(D(2024, 9, 1), 10), prior), "500.00")


def test_the_same_illness_paid_on_other_cover_is_rejected_another_diagnosis_is_not():
    illness = ClaimFacts(
        benefit="critical_illness", filed_date=D(2024, 8, 1), diagnosis_date=D(2024, 7, 20)
    )
    same = judge(illness, [elsewhere("critical_illness", D(2024, 7, 20), "10000.00")])
    rejects(same, "benefit_already_paid")
    assert same.flags == ("paid_on_other_cover",)
    # A payment on other cover for another day does not use up this cover's one payment.
    other_day = judge(illness, [elsewhere("critical_illness", D(2024, 6, 1), "10000.00")])
    pays(other_day, "10000.00")


def test_the_same_accident_paid_on_other_cover_is_rejected_and_the_cap_ignores_other_cover():
    accident = ClaimFacts(
        benefit="accident",
        filed_date=D(2024, 4, 1),
        accident_date=D(2024, 3, 1),
        outcome="disability",
        disability_grade=5,
    )
    same = judge(accident, [elsewhere("accident", D(2024, 3, 1), "12000.00")])
    rejects(same, "benefit_already_paid")
    assert same.flags == ("paid_on_other_cover",)
    # 20000 paid on other cover for another accident: this cover's cap is untouched.
    pays(judge(accident, [elsewhere("accident", D(2024, 2, 1), "20000.00")]), "12000.00")


def test_a_reimbursement_of_a_stay_paid_on_other_cover_is_rejected():
    rules = rules_of("linyi-inpatient-2019")
    facts = ClaimFacts(
        benefit="inpatient_reimbursement",
        filed_date=D(2024, 4, 1),
        admission_date=D(2024, 3, 1),
        discharge_date=D(2024, 3, 11),
        hospital_grade=3,
        eligible_cost=M("3000.00"),
    )
    prior = [elsewhere("inpatient_reimbursement", D(2024, 3, 1), "1000.00", days=10)]
    decision = decide(rules, coverage_start=START, shares=1, facts=facts, prior=prior)
    assert (decision.decision, decision.reasons) == ("reject", ("benefit_already_paid",))
    assert decision.flags == ("paid_on_other_cover",)


def test_another_benefit_for_the_same_stay_on_other_cover_is_not_a_repeat():
    prior = [elsewhere("inpatient_reimbursement", D(2024, 3, 1), "1000.00", days=10)]
    pays(judge(stay(D(2024, 3, 1), 10), prior), "500.00")


def test_repeat_of_finds_what_a_claim_would_pay_again():
    same_here = PriorPayout(
        "hospital_allowance", M("500.00"), D(2024, 3, 1), D(2024, 3, 1), D(2024, 3, 11)
    )
    overlapping_here = PriorPayout(
        "hospital_allowance", M("500.00"), D(2024, 3, 5), D(2024, 3, 5), D(2024, 3, 15)
    )
    overlapping_elsewhere = elsewhere("hospital_allowance", D(2024, 3, 5), days=10)

    def stay_repeats(prior):
        return repeat_of("hospital_allowance", D(2024, 3, 1), D(2024, 3, 1), D(2024, 3, 11), prior)

    assert stay_repeats([same_here]) is same_here
    # On the same cover an overlapping stay is only flagged for staff, not a repeat.
    assert stay_repeats([overlapping_here]) is None
    assert stay_repeats([overlapping_here, overlapping_elsewhere]) is overlapping_elsewhere
    assert stay_repeats([]) is None
    accident = elsewhere("accident", D(2024, 6, 1), "12000.00")
    assert repeat_of("accident", D(2024, 6, 1), None, None, [accident]) is accident
    assert repeat_of("accident", D(2024, 6, 2), None, None, [accident]) is None
