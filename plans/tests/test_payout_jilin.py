"""The payout engine on jilin-allowance-2020, rule by rule at the boundaries of plans-catalog.md.

Pure Python: the rules come from the shipped fixture, no database.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from plans.engine.payout import ClaimFacts, Decision, FactsError, PriorPayout, decide
from plans.engine.rules import parse_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
START = datetime.date(2024, 1, 1)
END = datetime.date(2024, 12, 31)
MAY_1 = datetime.date(2024, 5, 1)
D = datetime.date


def rules_of(code: str):
    data = json.loads((FIXTURES / f"{code}.json").read_text(encoding="utf-8"))
    return parse_rules(data["versions"][0]["rules"])


JILIN = rules_of("jilin-allowance-2020")


def money(text: str) -> Decimal:
    return Decimal(text)


def stay(
    admission: datetime.date,
    days: int,
    *,
    locality: str = "local",
    grade: int = 3,
    filed: datetime.date | None = None,
) -> ClaimFacts:
    discharge = admission + datetime.timedelta(days=days)
    return ClaimFacts(
        benefit="hospital_allowance",
        filed_date=filed or discharge + datetime.timedelta(days=5),
        admission_date=admission,
        discharge_date=discharge,
        hospital_locality=locality,
        hospital_grade=grade,
    )


def paid_stay(admission: datetime.date, days: int, amount: str) -> PriorPayout:
    return PriorPayout(
        benefit="hospital_allowance",
        amount=money(amount),
        event_date=admission,
        admission_date=admission,
        discharge_date=admission + datetime.timedelta(days=days),
    )


def judge(facts: ClaimFacts, prior=(), *, start=START, shares=1, rules=JILIN) -> Decision:
    decision = decide(rules, coverage_start=start, shares=shares, facts=facts, prior=prior)
    assert sum((line.amount for line in decision.lines), Decimal("0.00")) == decision.amount
    return decision


def pays(decision: Decision, amount: str) -> None:
    assert (decision.decision, decision.amount, decision.reasons) == ("pay", money(amount), ())


def rejects(decision: Decision, *reasons: str) -> None:
    assert (decision.decision, decision.amount, decision.reasons) == (
        "reject",
        money("0.00"),
        reasons,
    )


# --- hospital allowance ------------------------------------------------------------------------


def test_the_contract_example_pays_ten_local_days_at_50():
    decision = judge(stay(D(2024, 3, 1), 10), [paid_stay(D(2024, 2, 1), 10, "500.00")])
    assert decision.as_json() == {
        "decision": "pay",
        "amount": "500.00",
        "reasons": [],
        "lines": [{"label": "住院津贴 10天 × 50元", "amount": "500.00"}],
    }


def test_a_one_day_stay_is_too_short():
    decision = judge(stay(D(2024, 3, 1), 1))
    rejects(decision, "stay_too_short")
    assert decision.lines[0].label == "住院 1 天，少于最短住院天数 2 天"


def test_a_same_day_discharge_is_too_short():
    rejects(judge(stay(D(2024, 3, 1), 0)), "stay_too_short")


def test_a_two_day_stay_qualifies_and_pays_100():
    pays(judge(stay(D(2024, 3, 1), 2)), "100.00")


def test_a_grade_1_hospital_is_too_low_and_grade_2_pays():
    decision = judge(stay(D(2024, 3, 1), 5, grade=1))
    rejects(decision, "hospital_grade_too_low")
    assert "一级医院" in decision.lines[0].label and "二级及以上" in decision.lines[0].label
    pays(judge(stay(D(2024, 3, 1), 5, grade=2)), "250.00")


def test_short_stay_in_a_low_grade_hospital_gives_both_reasons():
    rejects(judge(stay(D(2024, 3, 1), 1, grade=1)), "hospital_grade_too_low", "stay_too_short")


def test_elsewhere_pays_40_a_day():
    decision = judge(stay(D(2024, 3, 1), 10, locality="elsewhere"))
    pays(decision, "400.00")
    assert decision.lines[0].label == "住院津贴 10天 × 40元"


def test_a_100_day_local_stay_is_capped_at_4500():
    decision = judge(stay(D(2024, 3, 1), 100))
    pays(decision, "4500.00")
    assert [(line.label, line.amount) for line in decision.lines] == [
        ("住院津贴 100天 × 50元", money("5000.00")),
        ("每次住院封顶 4500元（本地）", money("-500.00")),
    ]


def test_a_100_day_stay_elsewhere_is_capped_at_3600():
    decision = judge(stay(D(2024, 3, 1), 100, locality="elsewhere"))
    pays(decision, "3600.00")
    assert decision.lines[1].label == "每次住院封顶 3600元（异地）"
    assert decision.lines[1].amount == money("-400.00")


def test_exactly_90_days_is_not_cut():
    decision = judge(stay(D(2024, 3, 1), 90))
    pays(decision, "4500.00")
    assert len(decision.lines) == 1


def test_two_paid_stays_then_a_third_exceeds_the_count():
    prior = [paid_stay(D(2024, 2, 1), 3, "150.00"), paid_stay(D(2024, 4, 1), 3, "150.00")]
    decision = judge(stay(D(2024, 6, 1), 5), prior)
    rejects(decision, "claim_count_exceeded")
    assert decision.lines[0].label == "本保障期已给付住院津贴 2 次，每期最多 2 次"


def test_one_paid_stay_allows_a_second():
    pays(judge(stay(D(2024, 6, 1), 5), [paid_stay(D(2024, 2, 1), 3, "150.00")]), "250.00")


def test_period_cap_cuts_to_what_is_left():
    decision = judge(stay(D(2024, 6, 1), 40), [paid_stay(D(2024, 2, 1), 90, "8000.00")])
    pays(decision, "1000.00")
    assert [(line.label, line.amount) for line in decision.lines] == [
        ("住院津贴 40天 × 50元", money("2000.00")),
        ("保障期累计封顶 9000元，已付 8000元", money("-1000.00")),
    ]


def test_stay_cap_then_period_cap():
    decision = judge(stay(D(2024, 6, 1), 100), [paid_stay(D(2024, 2, 1), 90, "8500.00")])
    pays(decision, "500.00")
    assert [line.amount for line in decision.lines] == [
        money("5000.00"),
        money("-500.00"),
        money("-4000.00"),
    ]
    assert decision.lines[2].label == "保障期累计封顶 9000元，已付 8500元"


def test_period_cap_reached_rejects_and_the_lines_add_up_to_zero():
    decision = judge(stay(D(2024, 6, 1), 10), [paid_stay(D(2024, 2, 1), 90, "9000.00")])
    rejects(decision, "period_cap_reached")
    assert [(line.label, line.amount) for line in decision.lines] == [
        ("住院津贴 10天 × 50元", money("500.00")),
        ("保障期累计封顶 9000元，已付 9000元，没有余额", money("-500.00")),
    ]


def test_a_stay_of_another_benefit_does_not_count():
    other = PriorPayout("accident", money("9000.00"), D(2024, 2, 1))
    pays(judge(stay(D(2024, 6, 1), 10), [other, other]), "500.00")


def test_a_duplicate_stay_was_already_paid():
    prior = [paid_stay(D(2024, 3, 1), 10, "500.00")]
    decision = judge(stay(D(2024, 3, 1), 10), prior)
    rejects(decision, "benefit_already_paid")
    assert "duplicate_stay" in decision.flags
    assert decision.lines[0].label == "同一次住院（2024-03-01 至 2024-03-11）已经给付过"


def test_an_overlapping_stay_is_decided_and_flagged():
    decision = judge(stay(D(2024, 3, 5), 10), [paid_stay(D(2024, 3, 1), 10, "500.00")])
    pays(decision, "500.00")
    assert decision.flags == ("stay_overlaps_prior_stay",)
    assert "flags" not in decision.as_json()


def test_a_transfer_on_the_discharge_day_is_not_an_overlap():
    decision = judge(stay(D(2024, 3, 11), 5), [paid_stay(D(2024, 3, 1), 10, "500.00")])
    pays(decision, "250.00")
    assert decision.flags == ()


def test_admission_on_the_last_day_counts_the_whole_stay():
    decision = judge(stay(END, 20))
    pays(decision, "1000.00")


@pytest.mark.parametrize(
    "admission, covered",
    [(D(2023, 12, 31), False), (START, True), (END, True), (D(2025, 1, 1), False)],
)
def test_admission_must_fall_inside_the_coverage_period(admission, covered):
    decision = judge(stay(admission, 3))
    if covered:
        pays(decision, "150.00")
    else:
        rejects(decision, "not_covered")
        assert (
            decision.lines[0].label
            == f"入院日期 {admission} 不在保障期 2024-01-01 至 2024-12-31 内"
        )


# --- filing deadline (24 months) ---------------------------------------------------------------


def test_filing_on_the_same_day_24_months_later_is_in_time():
    pays(judge(stay(D(2024, 3, 1), 2, filed=D(2026, 3, 1))), "100.00")


def test_filing_the_day_after_is_too_late():
    decision = judge(stay(D(2024, 3, 1), 2, filed=D(2026, 3, 2)))
    rejects(decision, "filing_deadline_passed")
    assert decision.lines[0].label == (
        "申请日期 2026-03-02 已超过申领时效："
        "应在入院日期 2024-03-01 起 24 个月内（至 2026-03-01）申请"
    )


def test_the_deadline_of_a_29_february_event_is_the_end_of_february():
    pays(judge(stay(D(2024, 2, 29), 2, filed=D(2026, 2, 28))), "100.00")
    rejects(judge(stay(D(2024, 2, 29), 2, filed=D(2026, 3, 1))), "filing_deadline_passed")


def test_every_reason_is_listed_in_the_contract_order():
    facts = stay(D(2023, 12, 31), 1, grade=1, filed=D(2027, 1, 1))
    prior = [paid_stay(D(2024, 2, 1), 3, "150.00"), paid_stay(D(2024, 4, 1), 3, "150.00")]
    decision = judge(facts, prior)
    rejects(
        decision,
        "not_covered",
        "hospital_grade_too_low",
        "stay_too_short",
        "claim_count_exceeded",
        "filing_deadline_passed",
    )
    assert len(decision.lines) == 5
    assert all(line.amount == 0 for line in decision.lines)


# --- critical illness --------------------------------------------------------------------------


def illness(day: int, filed: datetime.date | None = None) -> ClaimFacts:
    diagnosis = START + datetime.timedelta(days=day)
    return ClaimFacts(
        benefit="critical_illness",
        filed_date=filed or diagnosis + datetime.timedelta(days=10),
        diagnosis_date=diagnosis,
    )


def test_diagnosis_on_day_30_is_in_the_waiting_period():
    decision = judge(illness(30))
    rejects(decision, "waiting_period")
    assert "距保障开始日 30 天" in decision.lines[0].label


def test_diagnosis_on_the_start_day_is_in_the_waiting_period():
    rejects(judge(illness(0)), "waiting_period")


@pytest.mark.parametrize("day, amount", [(31, "500.00"), (90, "500.00"), (91, "10000.00")])
def test_illness_tiers(day, amount):
    decision = judge(illness(day))
    pays(decision, amount)
    assert f"（确诊日距保障开始日 {day} 天）" in decision.lines[0].label


def test_illness_late_in_the_period_pays_10000():
    pays(judge(illness(365)), "10000.00")
    rejects(judge(illness(366)), "not_covered")


def test_illness_is_paid_once_per_period():
    prior = [PriorPayout("critical_illness", money("500.00"), D(2024, 2, 15))]
    decision = judge(illness(200), prior)
    rejects(decision, "benefit_already_paid")
    assert decision.lines[0].label == "本保障期已给付重大疾病 1 次，每期限 1 次"


def test_illness_before_the_start_is_not_covered():
    rejects(judge(illness(-1)), "not_covered")


# --- accident ----------------------------------------------------------------------------------


def accident(
    outcome: str = "disability",
    grade: int | None = None,
    *,
    day: datetime.date = MAY_1,
    in_hospital: bool = False,
    work_injury: bool = False,
) -> ClaimFacts:
    return ClaimFacts(
        benefit="accident",
        filed_date=day + datetime.timedelta(days=30),
        accident_date=day,
        outcome=outcome,
        disability_grade=grade,
        during_hospital_stay=in_hospital,
        work_injury=work_injury,
    )


def test_accident_on_the_start_day_has_no_waiting_period():
    pays(judge(accident("death", day=START)), "20000.00")


def test_accidental_death_pays_20000():
    decision = judge(accident("death"))
    pays(decision, "20000.00")
    assert decision.lines[0].label == "意外伤害：身故 20000元"
    assert decision.applied_base == money("20000.00")


@pytest.mark.parametrize(
    "grade, amount",
    [
        (1, "20000.00"),
        (2, "18000.00"),
        (3, "16000.00"),
        (4, "14000.00"),
        (5, "12000.00"),
        (6, "10000.00"),
        (7, "8000.00"),
        (8, "6000.00"),
        (9, "4000.00"),
        (10, "2000.00"),
    ],
)
def test_disability_grades(grade, amount):
    decision = judge(accident(grade=grade))
    pays(decision, amount)
    percent = (11 - grade) * 10
    assert decision.lines[0].label == f"意外伤害：{grade}级伤残 20000元 × {percent}%"


def test_disability_during_a_hospital_stay_uses_the_40000_base():
    decision = judge(accident(grade=5, in_hospital=True))
    pays(decision, "24000.00")
    assert decision.lines[0].label == "意外伤害：5级伤残 40000元 × 60%（住院期间发生的意外）"
    assert decision.applied_base == money("40000.00")
    pays(judge(accident(grade=1, in_hospital=True)), "40000.00")


def test_the_in_hospital_base_does_not_change_a_death():
    pays(judge(accident("death", in_hospital=True)), "20000.00")


def test_accident_payments_stay_within_the_applied_base():
    prior = [PriorPayout("accident", money("16000.00"), D(2024, 3, 1), applied_base=None)]
    decision = judge(accident(grade=5), prior)
    pays(decision, "4000.00")
    assert [(line.label, line.amount) for line in decision.lines] == [
        ("意外伤害：5级伤残 20000元 × 60%", money("12000.00")),
        ("本保障期意外伤害累计给付不超过适用基数 20000元，已付 16000元", money("-8000.00")),
    ]


def test_a_death_after_a_disability_is_only_cut_by_the_cap():
    prior = [PriorPayout("accident", money("6000.00"), D(2024, 3, 1), applied_base=money("20000"))]
    pays(judge(accident("death"), prior), "14000.00")


def test_the_larger_base_of_an_earlier_in_hospital_accident_applies():
    prior = [PriorPayout("accident", money("24000.00"), D(2024, 3, 1), applied_base=money("40000"))]
    decision = judge(accident(grade=5), prior)
    pays(decision, "12000.00")
    assert len(decision.lines) == 1


def test_accident_cap_reached():
    prior = [PriorPayout("accident", money("20000.00"), D(2024, 3, 1), applied_base=money("20000"))]
    decision = judge(accident(grade=10), prior)
    rejects(decision, "period_cap_reached")
    assert decision.applied_base == money("20000.00")


def test_accident_outside_the_period_is_not_covered():
    rejects(judge(accident("death", day=D(2025, 1, 1))), "not_covered")


def test_a_work_injury_is_covered_when_the_plan_does_not_exclude_it():
    pays(judge(accident("death", work_injury=True)), "20000.00")


# --- input that cannot be judged ---------------------------------------------------------------


def test_benefit_not_in_the_plan():
    facts = ClaimFacts(
        benefit="fire_loss",
        filed_date=D(2024, 5, 1),
        fire_date=D(2024, 4, 1),
        eligible_cost=money("100.00"),
    )
    decision = judge(facts)
    rejects(decision, "benefit_not_in_plan")
    assert decision.lines[0].amount == 0


@pytest.mark.parametrize(
    "facts, field",
    [
        (
            ClaimFacts("hospital_allowance", D(2024, 5, 1), admission_date=D(2024, 3, 1)),
            "discharge_date",
        ),
        (
            ClaimFacts(
                "hospital_allowance",
                D(2024, 5, 1),
                admission_date=D(2024, 3, 10),
                discharge_date=D(2024, 3, 1),
                hospital_locality="local",
                hospital_grade=3,
            ),
            "discharge_date",
        ),
        (
            ClaimFacts(
                "hospital_allowance",
                D(2024, 5, 1),
                admission_date=D(2024, 3, 1),
                discharge_date=D(2024, 3, 5),
                hospital_locality="moon",
                hospital_grade=3,
            ),
            "hospital_locality",
        ),
        (
            ClaimFacts(
                "hospital_allowance",
                D(2024, 5, 1),
                admission_date=D(2024, 3, 1),
                discharge_date=D(2024, 3, 5),
                hospital_locality="local",
                hospital_grade=4,
            ),
            "hospital_grade",
        ),
        (ClaimFacts("accident", D(2024, 5, 1), accident_date=D(2024, 3, 1)), "outcome"),
        (
            ClaimFacts(
                "accident", D(2024, 5, 1), accident_date=D(2024, 3, 1), outcome="disability"
            ),
            "disability_grade",
        ),
        (
            ClaimFacts(
                "accident",
                D(2024, 5, 1),
                accident_date=D(2024, 3, 1),
                outcome="disability",
                disability_grade=11,
            ),
            "disability_grade",
        ),
        (ClaimFacts("critical_illness", D(2024, 5, 1)), "diagnosis_date"),
        (ClaimFacts("critical_illness", D(2024, 2, 1), diagnosis_date=D(2024, 3, 1)), "filed_date"),
    ],
)
def test_facts_that_cannot_be_judged_raise(facts, field):
    with pytest.raises(FactsError) as raised:
        judge(facts)
    assert field in raised.value.errors


def test_shares_below_one_raise():
    with pytest.raises(FactsError) as raised:
        judge(stay(D(2024, 3, 1), 5), shares=0)
    assert "shares" in raised.value.errors
