"""The payout engine on the other catalog plans: Linyi inpatient and accident (per share) in
detail, then the Beijing rules that Jilin does not exercise (deductible days, per-share caps,
work-injury exclusion, fire loss), and rules an admin may set (period deductible, waiting days).
"""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from plans.engine.payout import ClaimFacts, Decision, PriorPayout, decide, decide_many
from plans.engine.rules import parse_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
START = datetime.date(2024, 1, 1)
D = datetime.date
M = Decimal
FEB_1, MARCH_1, MAY_1 = D(2024, 2, 1), D(2024, 3, 1), D(2024, 5, 1)


def raw_rules(code: str) -> dict:
    data = json.loads((FIXTURES / f"{code}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data["versions"][0]["rules"])


def rules_of(code: str, **changes) -> object:
    """The plan's rules, with changes to its benefit of the same code applied."""
    raw = raw_rules(code)
    for benefit_code, fields in changes.items():
        for benefit in raw["benefits"]:
            if benefit["code"] == benefit_code:
                benefit.update(fields)
    return parse_rules(raw)


LINYI_INPATIENT = rules_of("linyi-inpatient-2019")
LINYI_ACCIDENT = rules_of("linyi-accident-2019")


def judge(rules, facts: ClaimFacts, prior=(), *, shares=1, start=START) -> Decision:
    decision = decide(rules, coverage_start=start, shares=shares, facts=facts, prior=prior)
    assert sum((line.amount for line in decision.lines), M("0.00")) == decision.amount
    return decision


def pays(decision: Decision, amount: str) -> None:
    assert (decision.decision, decision.amount, decision.reasons) == ("pay", M(amount), ())


def rejects(decision: Decision, *reasons: str) -> None:
    assert (decision.decision, decision.amount, decision.reasons) == ("reject", M("0.00"), reasons)


def labels(decision: Decision) -> list[tuple[str, Decimal]]:
    return [(line.label, line.amount) for line in decision.lines]


# --- linyi-inpatient-2019: 50% above 500 per stay, 10000 per period ---------------------------


def inpatient(cost: str, admission=MARCH_1, days=10, grade=2, **kw) -> ClaimFacts:
    return ClaimFacts(
        benefit="inpatient_reimbursement",
        filed_date=kw.pop("filed", admission + datetime.timedelta(days=days + 5)),
        admission_date=admission,
        discharge_date=admission + datetime.timedelta(days=days),
        hospital_grade=grade,
        eligible_cost=M(cost),
        **kw,
    )


def paid_inpatient(amount: str, admission=FEB_1, days=5) -> PriorPayout:
    return PriorPayout(
        "inpatient_reimbursement",
        M(amount),
        admission,
        admission_date=admission,
        discharge_date=admission + datetime.timedelta(days=days),
    )


def test_inpatient_pays_half_of_the_cost_above_500():
    decision = judge(LINYI_INPATIENT, inpatient("1500.00"))
    pays(decision, "500.00")
    assert labels(decision) == [("住院医疗互助金（1500元 − 免赔额 500元）× 50%", M("500.00"))]


def test_inpatient_rounds_half_up_at_the_end_of_the_line():
    decision = judge(LINYI_INPATIENT, inpatient("500.05"))
    pays(decision, "0.03")
    assert decision.lines[0].label == "住院医疗互助金（500.05元 − 免赔额 500元）× 50%"


@pytest.mark.parametrize("cost", ["0.00", "499.99", "500.00"])
def test_a_cost_within_the_deductible_is_rejected_as_not_covered(cost):
    decision = judge(LINYI_INPATIENT, inpatient(cost))
    rejects(decision, "not_covered")
    assert decision.flags == ("below_deductible",)
    assert decision.lines[0].label.endswith("未超过免赔额 500元，没有可给付的金额")


def test_the_deductible_applies_to_every_stay():
    pays(judge(LINYI_INPATIENT, inpatient("1500.00"), [paid_inpatient("3000.00")]), "500.00")


def test_inpatient_one_claim_is_capped_at_10000():
    decision = judge(LINYI_INPATIENT, inpatient("30500.00"))
    pays(decision, "10000.00")
    assert labels(decision)[1] == ("保障期累计封顶 10000元，已付 0元", M("-5000.00"))


def test_inpatient_period_cap_with_earlier_payouts():
    decision = judge(LINYI_INPATIENT, inpatient("4500.00"), [paid_inpatient("9000.00")])
    pays(decision, "1000.00")
    assert labels(decision)[1] == ("保障期累计封顶 10000元，已付 9000元", M("-1000.00"))


def test_inpatient_period_cap_reached():
    decision = judge(LINYI_INPATIENT, inpatient("4500.00"), [paid_inpatient("10000.00")])
    rejects(decision, "period_cap_reached")


def test_inpatient_duplicate_and_overlapping_stays():
    prior = [paid_inpatient("500.00", admission=MARCH_1, days=10)]
    duplicate = judge(LINYI_INPATIENT, inpatient("1500.00"), prior)
    rejects(duplicate, "benefit_already_paid")
    assert duplicate.flags == ("duplicate_stay",)
    overlap = judge(LINYI_INPATIENT, inpatient("1500.00", admission=D(2024, 3, 5)), prior)
    pays(overlap, "500.00")
    assert overlap.flags == ("stay_overlaps_prior_stay",)


def test_the_allowance_and_the_reimbursement_of_one_stay_are_not_duplicates():
    prior = [
        PriorPayout(
            "hospital_allowance",
            M("500.00"),
            D(2024, 3, 1),
            admission_date=D(2024, 3, 1),
            discharge_date=D(2024, 3, 11),
        )
    ]
    pays(judge(LINYI_INPATIENT, inpatient("1500.00"), prior), "500.00")


def test_inpatient_admission_outside_the_period():
    rejects(judge(LINYI_INPATIENT, inpatient("1500.00", admission=D(2023, 12, 31))), "not_covered")


def test_linyi_critical_illness_as_jilin():
    def illness(day: int) -> ClaimFacts:
        diagnosis = START + datetime.timedelta(days=day)
        return ClaimFacts("critical_illness", diagnosis, diagnosis_date=diagnosis)

    rejects(judge(LINYI_INPATIENT, illness(30)), "waiting_period")
    pays(judge(LINYI_INPATIENT, illness(31)), "500.00")
    pays(judge(LINYI_INPATIENT, illness(91)), "10000.00")


def test_linyi_inpatient_has_no_hospital_allowance():
    facts = ClaimFacts(
        "hospital_allowance",
        D(2024, 4, 1),
        admission_date=D(2024, 3, 1),
        discharge_date=D(2024, 3, 11),
        hospital_locality="local",
        hospital_grade=3,
    )
    rejects(judge(LINYI_INPATIENT, facts), "benefit_not_in_plan")


# --- linyi-accident-2019: per share ------------------------------------------------------------


def accident(outcome="disability", grade=None, day=MAY_1, **kw) -> ClaimFacts:
    return ClaimFacts(
        "accident",
        day + datetime.timedelta(days=10),
        accident_date=day,
        outcome=outcome,
        disability_grade=grade,
        **kw,
    )


def medical(cost: str, day=MAY_1) -> ClaimFacts:
    return ClaimFacts(
        "accident_medical",
        day + datetime.timedelta(days=10),
        accident_date=day,
        eligible_cost=M(cost),
    )


def test_per_share_death_with_3_shares_pays_30000():
    decision = judge(LINYI_ACCIDENT, accident("death"), shares=3)
    pays(decision, "30000.00")
    assert decision.lines[0].label == "意外伤害：身故 10000元 × 3份"
    assert decision.applied_base == M("30000.00")


def test_per_share_death_with_1_share_pays_10000():
    pays(judge(LINYI_ACCIDENT, accident("death"), shares=1), "10000.00")


@pytest.mark.parametrize("grade", range(1, 11))
def test_per_share_disability_with_3_shares(grade):
    decision = judge(LINYI_ACCIDENT, accident(grade=grade), shares=3)
    pays(decision, f"{30000 * (11 - grade) // 10}.00")
    assert (
        decision.lines[0].label == f"意外伤害：{grade}级伤残 10000元 × 3份 × {(11 - grade) * 10}%"
    )


def test_linyi_has_no_in_hospital_base():
    pays(judge(LINYI_ACCIDENT, accident(grade=5, during_hospital_stay=True), shares=2), "12000.00")


def test_per_share_cap_at_applied_base():
    prior = [PriorPayout("accident", M("27000.00"), D(2024, 3, 1), applied_base=M("30000.00"))]
    decision = judge(LINYI_ACCIDENT, accident(grade=8), prior, shares=3)
    pays(decision, "3000.00")
    assert decision.lines[1].label == "本保障期意外伤害累计给付不超过适用基数 30000元，已付 27000元"


def test_accident_medical_pays_80_percent_above_100():
    decision = judge(LINYI_ACCIDENT, medical("600.00"), shares=3)
    pays(decision, "400.00")
    assert decision.lines[0].label == "意外医疗（600元 − 免赔额 100元）× 80%"


def test_accident_medical_cap_is_2000_per_share():
    decision = judge(LINYI_ACCIDENT, medical("10100.00"), shares=3)
    pays(decision, "6000.00")
    assert labels(decision)[1] == (
        "保障期累计封顶 6000元（每份 2000元 × 3份），已付 0元",
        M("-2000.00"),
    )
    pays(judge(LINYI_ACCIDENT, medical("10100.00"), shares=1), "2000.00")


def test_accident_medical_cap_with_earlier_payouts():
    prior = [PriorPayout("accident_medical", M("5500.00"), D(2024, 3, 1))]
    pays(judge(LINYI_ACCIDENT, medical("1100.00"), prior, shares=3), "500.00")
    prior = [PriorPayout("accident_medical", M("6000.00"), D(2024, 3, 1))]
    rejects(judge(LINYI_ACCIDENT, medical("1100.00"), prior, shares=3), "period_cap_reached")


def test_accident_medical_does_not_count_towards_the_accident_cap():
    prior = [PriorPayout("accident_medical", M("2000.00"), D(2024, 3, 1))]
    pays(judge(LINYI_ACCIDENT, accident("death"), prior, shares=1), "10000.00")


def test_accident_medical_below_the_deductible():
    rejects(judge(LINYI_ACCIDENT, medical("100.00"), shares=3), "not_covered")


# --- Beijing rules ------------------------------------------------------------------------------


def test_beijing_allowance_counts_days_beyond_the_deductible_per_share():
    rules = rules_of("beijing-allowance-2011")
    facts = ClaimFacts(
        "hospital_allowance",
        D(2024, 4, 1),
        admission_date=D(2024, 3, 1),
        discharge_date=D(2024, 3, 11),
        hospital_locality="local",
        hospital_grade=1,
    )
    decision = judge(rules, facts, shares=2)
    pays(decision, "420.00")
    assert decision.lines[0].label == "住院津贴 7天（住院10天，免赔3天） × 30元 × 2份"


def test_beijing_allowance_stay_of_3_days_is_too_short_and_4_pays_one_day():
    rules = rules_of("beijing-allowance-2011")

    def facts(days: int) -> ClaimFacts:
        return ClaimFacts(
            "hospital_allowance",
            D(2024, 4, 1),
            admission_date=D(2024, 3, 1),
            discharge_date=D(2024, 3, 1) + datetime.timedelta(days=days),
            hospital_locality="elsewhere",
            hospital_grade=1,
        )

    rejects(judge(rules, facts(3)), "stay_too_short")
    pays(judge(rules, facts(4), shares=3), "90.00")


def test_beijing_allowance_per_share_stay_cap_and_no_count_limit():
    rules = rules_of("beijing-allowance-2011")
    facts = ClaimFacts(
        "hospital_allowance",
        D(2024, 9, 1),
        admission_date=D(2024, 6, 1),
        discharge_date=D(2024, 6, 1) + datetime.timedelta(days=120),
        hospital_locality="local",
        hospital_grade=1,
    )
    prior = [PriorPayout("hospital_allowance", M("30.00"), D(2024, 2, 1))] * 5
    decision = judge(rules, facts, prior, shares=2)
    pays(decision, "5400.00")
    assert labels(decision)[1] == ("每次住院封顶 5400元（本地每份 2700元 × 2份）", M("-1620.00"))


def test_beijing_nonwork_rejects_a_work_injury_as_not_covered():
    rules = rules_of("beijing-nonwork-2011")
    decision = judge(rules, accident("death", work_injury=True), shares=2)
    rejects(decision, "not_covered")
    assert decision.flags == ("work_injury_excluded",)
    assert "工伤" in decision.lines[0].label
    pays(judge(rules, accident("death"), shares=2), "20000.00")


def test_beijing_fire_loss_pays_the_assessed_loss_up_to_3000_per_share():
    rules = rules_of("beijing-nonwork-2011")

    def fire(cost: str) -> ClaimFacts:
        return ClaimFacts(
            "fire_loss", D(2024, 8, 1), fire_date=D(2024, 7, 1), eligible_cost=M(cost)
        )

    decision = judge(rules, fire("2500.50"), shares=1)
    pays(decision, "2500.50")
    assert decision.lines[0].label == "家庭财产火灾损失 2500.50元 × 100%"
    pays(judge(rules, fire("10000.00"), shares=2), "6000.00")
    rejects(judge(rules, fire("0.00")), "not_covered")


def test_beijing_female_illness_has_a_90_day_waiting_period():
    rules = rules_of("beijing-female-2021")

    def diagnosed(day: int) -> ClaimFacts:
        diagnosis = START + datetime.timedelta(days=day)
        return ClaimFacts("critical_illness", diagnosis, diagnosis_date=diagnosis)

    rejects(judge(rules, diagnosed(90)), "waiting_period")
    pays(judge(rules, diagnosed(91)), "15000.00")


def test_beijing_critical_per_share():
    rules = rules_of("beijing-critical-2021")
    diagnosis = D(2024, 6, 1)
    facts = ClaimFacts("critical_illness", diagnosis, diagnosis_date=diagnosis)
    decision = judge(rules, facts, shares=3)
    pays(decision, "30000.00")
    assert decision.lines[0].label.startswith("重大疾病：重大疾病互助金 10000元 × 3份")


# --- rules an admin may set ---------------------------------------------------------------------


def test_a_period_deductible_is_taken_once():
    rules = rules_of("linyi-inpatient-2019", inpatient_reimbursement={"deductible_scope": "period"})
    pays(judge(rules, inpatient("1500.00")), "500.00")
    decision = judge(rules, inpatient("1500.00"), [paid_inpatient("500.00")])
    pays(decision, "750.00")
    assert "本期免赔额已由此前的理赔抵扣" in decision.lines[0].label


def test_waiting_days_reject_events_in_the_first_days():
    rules = rules_of("jilin-allowance-2020", hospital_allowance={"waiting_days": 10})

    def stay(day: int) -> ClaimFacts:
        admission = START + datetime.timedelta(days=day)
        return ClaimFacts(
            "hospital_allowance",
            admission + datetime.timedelta(days=20),
            admission_date=admission,
            discharge_date=admission + datetime.timedelta(days=2),
            hospital_locality="local",
            hospital_grade=3,
        )

    decision = judge(rules, stay(9))
    rejects(decision, "waiting_period")
    assert decision.lines[0].label == "入院日期 2024-01-10 距保障开始日 9 天，在 10 天等待期内"
    pays(judge(rules, stay(10)), "100.00")


def test_a_zero_percent_grade_pays_nothing_and_is_rejected():
    raw = raw_rules("jilin-allowance-2020")
    raw["benefits"][2]["disability_percent"]["10"] = 0
    decision = judge(parse_rules(raw), accident(grade=10))
    rejects(decision, "not_covered")
    assert decision.flags == ("nothing_payable",)


def test_coverage_of_a_period_starting_on_the_31st():
    rules = rules_of("jilin-allowance-2020")

    def illness(diagnosis: datetime.date) -> ClaimFacts:
        return ClaimFacts("critical_illness", diagnosis, diagnosis_date=diagnosis)

    start = D(2024, 1, 31)
    pays(judge(rules, illness(D(2025, 1, 30)), start=start), "10000.00")
    rejects(judge(rules, illness(D(2025, 1, 31)), start=start), "not_covered")


def test_decide_many_agrees_with_decide():
    items = [
        (LINYI_INPATIENT, START, 1, inpatient("1500.00"), ()),
        (LINYI_ACCIDENT, START, 3, medical("600.00"), ()),
        (LINYI_ACCIDENT, START, 2, accident("death"), ()),
        (LINYI_INPATIENT, START, 1, inpatient("100.00"), ()),
    ]
    expected = [decide(r, coverage_start=s, shares=n, facts=f, prior=p) for r, s, n, f, p in items]
    assert decide_many(items) == expected
    assert decide_many(iter(items)) == expected
