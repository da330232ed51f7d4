"""Tests for the rule vocabulary (plans.engine.rules) and the shipped plan fixtures.

Pure Python: no database, no Django settings. The fixtures in fixtures/plans/ must already be in
canonical form, i.e. exactly what ``parse_rules(rules).to_dict()`` returns.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plans.engine.rules import (
    Accident,
    CriticalIllness,
    HospitalAllowance,
    PlanRules,
    Reimbursement,
    RulesError,
    parse_rules,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"

PLAN_CODES = (
    "jilin-allowance-2020",
    "linyi-inpatient-2019",
    "linyi-accident-2019",
    "shaanxi-gig-2023",
    "beijing-female-2021",
    "beijing-accident-2011",
    "beijing-critical-2021",
    "beijing-inpatient-2011",
    "beijing-child-accident-2011",
    "beijing-allowance-2011",
    "beijing-nonwork-2011",
)

ALLOWED_BENEFIT_CODES = {
    "hospital_allowance",
    "critical_illness",
    "accident",
    "inpatient_reimbursement",
    "accident_medical",
    "fire_loss",
}


def load_plan(code: str) -> dict[str, Any]:
    with open(FIXTURES / f"{code}.json", encoding="utf-8") as fh:
        return json.load(fh)


def raw_rules(code: str) -> dict[str, Any]:
    """A fresh, mutable copy of the rules of the plan's first version."""
    return copy.deepcopy(load_plan(code)["versions"][0]["rules"])


def rules_of(code: str) -> PlanRules:
    return parse_rules(raw_rules(code))


def error_paths(data: Any) -> list[str]:
    with pytest.raises(RulesError) as excinfo:
        parse_rules(data)
    return [path for path, _ in excinfo.value.errors]


def benefit_index(data: dict[str, Any], code: str) -> int:
    return next(i for i, b in enumerate(data["benefits"]) if b["code"] == code)


# --- the fixtures ------------------------------------------------------------------------------


def test_every_plan_code_has_a_fixture() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(PLAN_CODES)


@pytest.mark.parametrize("code", PLAN_CODES)
def test_fixture_shape(code: str) -> None:
    plan = load_plan(code)
    assert set(plan) == {"code", "name", "region", "description", "versions"}
    assert plan["code"] == code
    assert plan["name"].strip()
    # The region tells apart plans of different provinces with near-identical names.
    assert plan["region"].strip() and plan["region"] not in plan["name"]
    assert plan["description"].strip()
    assert len(plan["versions"]) == 1
    version = plan["versions"][0]
    assert set(version) == {"number", "effective_from", "effective_to", "rules"}
    assert version["number"] == 1
    assert version["effective_from"] == f"{code.rsplit('-', 1)[1]}-01-01"
    assert version["effective_to"] is None


@pytest.mark.parametrize("code", PLAN_CODES)
def test_fixture_parses_and_round_trips(code: str) -> None:
    raw = raw_rules(code)
    rules = parse_rules(raw)
    assert rules.to_dict() == raw
    # Canonical through JSON as well: dumping and reading back changes nothing.
    assert json.loads(json.dumps(rules.to_dict(), ensure_ascii=False)) == raw


@pytest.mark.parametrize("code", PLAN_CODES)
def test_fixture_file_is_canonical_json(code: str) -> None:
    text = (FIXTURES / f"{code}.json").read_text(encoding="utf-8")
    assert text == json.dumps(load_plan(code), ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("code", PLAN_CODES)
def test_shared_semantics(code: str) -> None:
    rules = rules_of(code)
    assert (rules.eligibility.age_min, rules.eligibility.age_max) == (16, 60)
    assert "退休" not in rules.eligibility.employment_types
    assert rules.coverage_months == 12
    assert rules.filing_deadline_months == 24
    for benefit in rules.benefits:
        assert benefit.code in ALLOWED_BENEFIT_CODES
        assert [d.code for d in benefit.documents[:2]] == ["id_copy", "bank_card_copy"]
        assert len(benefit.documents) > 2
    if code != "jilin-allowance-2020":
        assert rules.participation == ()
        assert rules.fees.subsidies == ()


# --- catalog spot checks -----------------------------------------------------------------------


def test_jilin_fees_and_participation() -> None:
    rules = rules_of("jilin-allowance-2020")
    assert rules.fees.per_share == Decimal("110.00")
    assert (rules.shares.min, rules.shares.max) == (1, 1)
    assert rules.fees.subsidy_per_member == Decimal("30.00")
    assert rules.fees.subsidies[0].name == "省直机关工会补贴"
    assert rules.funding.payers == ("unit", "member")
    assert rules.participation_min_rate(0) == Decimal("1.00")
    assert rules.participation_min_rate(199) == Decimal("1.00")
    assert rules.participation_min_rate(200) == Decimal("0.80")
    assert rules.participation_min_rate(5000) == Decimal("0.80")


def test_plan_without_participation_rule() -> None:
    rules = rules_of("linyi-inpatient-2019")
    assert rules.participation_min_rate(10) is None
    assert rules.participation_min_rate(500) is None


def test_jilin_hospital_allowance() -> None:
    benefit = rules_of("jilin-allowance-2020").benefit("hospital_allowance")
    assert isinstance(benefit, HospitalAllowance)
    assert benefit.min_hospital_grade == 2
    assert benefit.min_stay_days == 2
    assert benefit.deductible_days == 0
    assert benefit.daily_rate == {"local": Decimal("50.00"), "elsewhere": Decimal("40.00")}
    assert benefit.stay_cap == {"local": Decimal("4500.00"), "elsewhere": Decimal("3600.00")}
    assert benefit.max_paid_stays_per_period == 2
    assert benefit.period_cap == Decimal("9000.00")


def test_jilin_critical_illness() -> None:
    benefit = rules_of("jilin-allowance-2020").benefit("critical_illness")
    assert isinstance(benefit, CriticalIllness)
    assert len(benefit.diseases) == 15
    assert benefit.diseases[0] == "恶性肿瘤"
    assert [(t.after_day, t.through_day, t.amount) for t in benefit.tiers] == [
        (30, 90, Decimal("500.00")),
        (90, None, Decimal("10000.00")),
    ]
    assert benefit.times_per_period == 1


def test_jilin_accident() -> None:
    benefit = rules_of("jilin-allowance-2020").benefit("accident")
    assert isinstance(benefit, Accident)
    assert benefit.death_amount == Decimal("20000.00")
    assert benefit.disability_base == Decimal("20000.00")
    assert benefit.disability_base_in_hospital == Decimal("40000.00")
    assert benefit.disability_percent == {
        "1": 100,
        "2": 90,
        "3": 80,
        "4": 70,
        "5": 60,
        "6": 50,
        "7": 40,
        "8": 30,
        "9": 20,
        "10": 10,
    }
    assert benefit.cap_at_applied_base is True
    assert benefit.waiting_days == 0


def test_linyi_inpatient() -> None:
    rules = rules_of("linyi-inpatient-2019")
    assert rules.fees.per_share == Decimal("120.00")
    assert rules.shares.max == 1
    assert rules.eligibility.medical_insurance_required is True
    [min_share] = rules.funding.min_shares
    assert min_share.payers == ("unit", "union")
    assert min_share.min_percent == Decimal("70")
    benefit = rules.benefit("inpatient_reimbursement")
    assert isinstance(benefit, Reimbursement)
    assert (benefit.event, benefit.rate, benefit.deductible, benefit.deductible_scope) == (
        "hospital_stay",
        Decimal("0.50"),
        Decimal("500.00"),
        "event",
    )
    assert benefit.period_cap == Decimal("10000.00")
    illness = rules.benefit("critical_illness")
    assert isinstance(illness, CriticalIllness)
    assert len(illness.diseases) == 15
    assert illness.tiers[-1].amount == Decimal("10000.00")


def test_linyi_accident() -> None:
    rules = rules_of("linyi-accident-2019")
    assert rules.fees.per_share == Decimal("26.00")
    assert rules.fees.high_risk_surcharge_per_share == Decimal("5.00")
    assert (rules.shares.min, rules.shares.max) == (1, 4)
    assert rules.shares.uniform_per_unit is True
    accident = rules.benefit("accident")
    assert isinstance(accident, Accident)
    assert accident.per_share is True
    assert accident.death_amount == Decimal("10000.00")
    assert accident.disability_base_in_hospital is None
    medical = rules.benefit("accident_medical")
    assert isinstance(medical, Reimbursement)
    assert (medical.event, medical.rate, medical.deductible, medical.period_cap) == (
        "accident",
        Decimal("0.80"),
        Decimal("100.00"),
        Decimal("2000.00"),
    )
    assert medical.per_share is True


def test_shaanxi_gig() -> None:
    rules = rules_of("shaanxi-gig-2023")
    assert rules.eligibility.employment_types == ("新就业形态劳动者",)
    assert rules.eligibility.occupations == ("货车司机", "网约车司机", "快递员", "外卖员", "其他")
    assert rules.eligibility.medical_insurance_required is True
    assert rules.fees.per_share == Decimal("100.00")
    assert rules.shares.max == 1
    jilin = rules_of("jilin-allowance-2020")
    for code in ("hospital_allowance", "accident"):
        assert rules.benefit(code) == jilin.benefit(code)
    assert rules.benefit("critical_illness") is None


def test_beijing_female() -> None:
    rules = rules_of("beijing-female-2021")
    assert rules.eligibility.genders == ("F",)
    benefit = rules.benefit("critical_illness")
    assert isinstance(benefit, CriticalIllness)
    assert len(benefit.diseases) == 12
    assert [t.amount for t in benefit.tiers] == [Decimal("15000.00")]


def test_beijing_critical() -> None:
    benefit = rules_of("beijing-critical-2021").benefit("critical_illness")
    assert isinstance(benefit, CriticalIllness)
    assert len(benefit.diseases) == 30
    assert len(set(benefit.diseases)) == 30
    assert benefit.per_share is True


@pytest.mark.parametrize("code", [c for c in PLAN_CODES if c.startswith("beijing-")])
def test_beijing_funding_modes(code: str) -> None:
    funding = rules_of(code).funding
    assert funding.payers == ("unit", "union", "member")
    assert {m.code: m.payers for m in funding.modes} == {
        "unit_all": ("unit",),
        "union_all": ("union",),
        "unit_union": ("unit", "union"),
        "unit_union_member": ("unit", "union", "member"),
        "member_all": ("member",),
    }


def test_beijing_child_and_fire() -> None:
    assert rules_of("beijing-child-accident-2011").insured == "member_child"
    fire = rules_of("beijing-nonwork-2011").benefit("fire_loss")
    assert isinstance(fire, Reimbursement)
    assert (fire.event, fire.rate, fire.period_cap) == ("fire", Decimal("1.00"), Decimal("3000.00"))


def test_beijing_allowance_from_day_four() -> None:
    benefit = rules_of("beijing-allowance-2011").benefit("hospital_allowance")
    assert isinstance(benefit, HospitalAllowance)
    assert (benefit.min_stay_days, benefit.deductible_days) == (4, 3)
    assert benefit.max_paid_stays_per_period is None
    assert benefit.period_cap == Decimal("5400.00")


# --- refusals ----------------------------------------------------------------------------------


def test_empty_age_range() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["eligibility"]["age_min"] = 61
    data["eligibility"]["age_max"] = 60
    assert error_paths(data) == ["eligibility.age_max"]


def test_overlapping_illness_tiers() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "critical_illness")
    data["benefits"][i]["tiers"][0]["through_day"] = 120
    assert error_paths(data) == [f"benefits[{i}].tiers"]


def test_open_tier_followed_by_another_overlaps() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "critical_illness")
    data["benefits"][i]["tiers"][0]["through_day"] = None
    assert error_paths(data) == [f"benefits[{i}].tiers"]


def test_gap_between_illness_tiers() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "critical_illness")
    data["benefits"][i]["tiers"][1]["after_day"] = 100
    with pytest.raises(RulesError) as excinfo:
        parse_rules(data)
    assert excinfo.value.errors == [(f"benefits[{i}].tiers", "给付档次之间有空档")]


def test_stay_cap_below_one_day() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "hospital_allowance")
    data["benefits"][i]["stay_cap"]["elsewhere"] = "39.99"
    assert error_paths(data) == [f"benefits[{i}].stay_cap.elsewhere"]


def test_period_cap_below_stay_cap() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "hospital_allowance")
    data["benefits"][i]["period_cap"] = "4000.00"
    assert error_paths(data) == [f"benefits[{i}].period_cap"]


def test_negative_money() -> None:
    data = raw_rules("linyi-inpatient-2019")
    i = benefit_index(data, "inpatient_reimbursement")
    data["benefits"][i]["deductible"] = "-1.00"
    assert error_paths(data) == [f"benefits[{i}].deductible"]


def test_float_money_is_refused() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["fees"]["per_share"] = json.loads("110.0")
    assert isinstance(data["fees"]["per_share"], float)
    assert "fees.per_share" in error_paths(data)


def test_float_money_in_a_benefit_is_refused() -> None:
    data = raw_rules("jilin-allowance-2020")
    i = benefit_index(data, "accident")
    data["benefits"][i]["death_amount"] = 20000.0
    assert error_paths(data) == [f"benefits[{i}].death_amount"]


def test_integer_money_is_accepted_and_canonicalised() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["fees"]["per_share"] = 110
    assert parse_rules(data).to_dict()["fees"]["per_share"] == "110.00"


def test_money_with_three_decimals() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["fees"]["per_share"] = "110.005"
    assert error_paths(data) == ["fees.per_share"]


def test_unknown_key() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["eligibility"]["max_income"] = "5000.00"
    data["benefits"][0]["bonus"] = "1.00"
    data["extra"] = 1
    assert sorted(error_paths(data)) == sorted(
        ["eligibility.max_income", "benefits[0].bonus", "extra"]
    )


def test_wrong_schema_version() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["schema_version"] = 2
    assert error_paths(data) == ["schema_version"]


def test_missing_schema_version() -> None:
    data = raw_rules("jilin-allowance-2020")
    del data["schema_version"]
    assert error_paths(data) == ["schema_version"]


def test_retired_employment_type() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["eligibility"]["employment_types"].append("退休")
    assert error_paths(data) == ["eligibility.employment_types"]


def test_overlapping_participation_tiers() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["participation"][0]["headcount_to"] = 200
    assert error_paths(data) == ["participation"]


def test_duplicate_benefit_codes() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["benefits"].append(copy.deepcopy(data["benefits"][0]))
    assert error_paths(data) == ["benefits"]


def test_unknown_benefit_type() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["benefits"][1]["type"] = "dental"
    assert error_paths(data) == ["benefits[1].type"]


def test_min_share_payer_not_a_funding_payer() -> None:
    data = raw_rules("linyi-inpatient-2019")
    data["funding"]["payers"] = ["unit", "member"]
    assert error_paths(data) == ["funding.min_shares[0].payers"]


def test_errors_are_all_collected() -> None:
    data = raw_rules("jilin-allowance-2020")
    data["eligibility"]["age_min"] = 61
    data["schema_version"] = 3
    data["fees"]["per_share"] = "-5.00"
    paths = error_paths(data)
    assert {"schema_version", "eligibility.age_max", "fees.per_share"} <= set(paths)


def test_not_an_object() -> None:
    assert error_paths([])[0] == ""
