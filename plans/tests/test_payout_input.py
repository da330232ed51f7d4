"""Reading claim facts and prior payouts from JSON (quote_claim, the web form, stored claims),
and the engine's small public helpers."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from plans.engine.payout import (
    REASON_TEXT,
    REASONS,
    ClaimFacts,
    Decision,
    FactsError,
    Line,
    PriorPayout,
    add_months,
    coverage_end,
    decide,
    facts_from_json,
    priors_from_json,
)
from plans.engine.rules import parse_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
D = datetime.date
M = Decimal


def raw_rules(code: str) -> dict:
    data = json.loads((FIXTURES / f"{code}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data["versions"][0]["rules"])


JILIN = parse_rules(raw_rules("jilin-allowance-2020"))

STAY = {
    "benefit": "hospital_allowance",
    "admission_date": "2024-03-01",
    "discharge_date": "2024-03-11",
    "hospital_locality": "local",
    "hospital_grade": 3,
    "filed_date": "2024-03-20",
}


def errors_of(data, **kw) -> dict[str, str]:
    with pytest.raises(FactsError) as raised:
        facts_from_json(data, **kw)
    return raised.value.errors


def test_the_contract_fields_are_read():
    assert facts_from_json(STAY) == ClaimFacts(
        benefit="hospital_allowance",
        filed_date=D(2024, 3, 20),
        admission_date=D(2024, 3, 1),
        discharge_date=D(2024, 3, 11),
        hospital_locality="local",
        hospital_grade=3,
    )


def test_every_fact_field_is_read():
    facts = facts_from_json(
        {
            "benefit": "accident",
            "filed_date": "2024-06-01",
            "accident_date": "2024-05-01",
            "outcome": "disability",
            "disability_grade": "4",
            "during_hospital_stay": True,
            "work_injury": "false",
            "eligible_cost": M("12.50"),
            "fire_date": None,
            "plan": "ignored by the reader",
        }
    )
    assert (facts.disability_grade, facts.during_hospital_stay, facts.work_injury) == (
        4,
        True,
        False,
    )
    assert facts.eligible_cost == M("12.50") and facts.fire_date is None
    assert facts.event_date == D(2024, 5, 1)


def test_filed_date_defaults_to_today():
    data = {k: v for k, v in STAY.items() if k != "filed_date"}
    assert facts_from_json(data, today=D(2024, 4, 2)).filed_date == D(2024, 4, 2)
    assert facts_from_json(data).filed_date == datetime.date.today()


@pytest.mark.parametrize("value", ["2024-02-30", "20240301", "2024/03/01", 20240301, "", True])
def test_a_bad_date_is_refused(value):
    assert errors_of({**STAY, "admission_date": value})["admission_date"].startswith("应为日期")


@pytest.mark.parametrize("value", [0, 4, "三", True, 2.0])
def test_a_bad_hospital_grade_is_refused(value):
    assert "hospital_grade" in errors_of({**STAY, "hospital_grade": value})


def test_a_bad_locality_and_outcome_are_refused():
    assert "hospital_locality" in errors_of({**STAY, "hospital_locality": "本地"})
    data = {"benefit": "accident", "accident_date": "2024-03-01", "outcome": "injury"}
    assert "outcome" in errors_of(data)


@pytest.mark.parametrize("value", [1500.5, "1.234", "-1", "1e3", "abc", M("NaN"), "１００"])
def test_a_bad_cost_is_refused(value):
    data = {"benefit": "fire_loss", "fire_date": "2024-03-01", "eligible_cost": value}
    assert "eligible_cost" in errors_of(data)


@pytest.mark.parametrize(
    "value, expected", [("1500", "1500.00"), (1500, "1500.00"), (M("0.5"), "0.50")]
)
def test_costs_are_exact(value, expected):
    data = {"benefit": "fire_loss", "fire_date": "2024-03-01", "eligible_cost": value}
    assert facts_from_json(data).eligible_cost == M(expected)


def test_missing_fields_of_the_benefit_are_named_together():
    errors = errors_of({"benefit": "hospital_allowance", "admission_date": "2024-03-01"})
    assert set(errors) == {"discharge_date", "hospital_locality", "hospital_grade"}
    assert errors_of(
        {"benefit": "accident", "accident_date": "2024-03-01", "outcome": "disability"}
    ) == {"disability_grade": "伤残时必填"}
    assert set(errors_of({"benefit": "inpatient_reimbursement"})) == {
        "admission_date",
        "discharge_date",
        "hospital_grade",
        "eligible_cost",
    }


def test_discharge_before_admission_and_filing_before_the_event_are_refused():
    errors = errors_of({**STAY, "discharge_date": "2024-02-28", "filed_date": "2024-02-01"})
    assert errors == {
        "discharge_date": "出院日期不能早于入院日期",
        "filed_date": "申请日期不能早于出险日期",
    }


def test_the_message_names_each_field():
    with pytest.raises(FactsError) as raised:
        facts_from_json({"benefit": "critical_illness"})
    assert str(raised.value) == "确诊日期（diagnosis_date）：必填"


def test_benefit_codes_with_and_without_the_plan():
    assert errors_of({})["benefit"] == "必填"
    # Without the plan, any code is read; with it, a code must be the plan's or a known one.
    assert facts_from_json({"benefit": "banana"}).benefit == "banana"
    assert "不认识的保障项目“banana”" in errors_of({"benefit": "banana"}, rules=JILIN)["benefit"]
    fire = {"benefit": "fire_loss", "fire_date": "2024-03-01", "eligible_cost": "10"}
    facts = facts_from_json(fire, rules=JILIN)
    decision = decide(JILIN, coverage_start=D(2024, 1, 1), shares=1, facts=facts)
    assert decision.reasons == ("benefit_not_in_plan",)


def test_a_plan_code_outside_the_vocabulary_needs_what_its_type_needs():
    raw = raw_rules("linyi-accident-2019")
    raw["benefits"][1]["code"] = "injury_costs"
    rules = parse_rules(raw)
    assert set(errors_of({"benefit": "injury_costs"}, rules=rules)) == {
        "accident_date",
        "eligible_cost",
    }
    facts = facts_from_json(
        {"benefit": "injury_costs", "accident_date": "2024-03-01", "eligible_cost": "600"},
        rules=rules,
        today=D(2024, 4, 1),
    )
    decision = decide(rules, coverage_start=D(2024, 1, 1), shares=1, facts=facts)
    assert (decision.decision, decision.amount) == ("pay", M("400.00"))


def test_a_non_object_is_refused():
    assert "benefit" in errors_of(["benefit"])


# --- prior payouts ------------------------------------------------------------------------------


def test_priors_are_read():
    priors = priors_from_json(
        [
            {"benefit": "hospital_allowance", "amount": "500.00", "event_date": "2024-02-01"},
            {
                "benefit": "accident",
                "amount": 2000,
                "event_date": "2024-02-01",
                "admission_date": None,
                "applied_base": "40000",
            },
        ]
    )
    assert priors == (
        PriorPayout("hospital_allowance", M("500.00"), D(2024, 2, 1)),
        PriorPayout("accident", M("2000.00"), D(2024, 2, 1), applied_base=M("40000.00")),
    )
    assert priors_from_json(None) == () and priors_from_json([]) == ()


def test_bad_priors_are_refused_with_their_paths():
    with pytest.raises(FactsError) as raised:
        priors_from_json(
            [
                {"benefit": "hospital_allowance", "amount": "500.00", "event_date": "2024-02-01"},
                {
                    "benefit": "",
                    "amount": 1.5,
                    "discharge_date": "2024-01-01",
                    "admission_date": "2024-02-01",
                },
                "x",
            ]
        )
    assert raised.value.errors == {
        "prior_payouts[1].benefit": "必填",
        "prior_payouts[1].amount": '应为金额，例如 "1500.00"',
        "prior_payouts[1].event_date": "必填",
        "prior_payouts[1].discharge_date": "出院日期不能早于入院日期",
        "prior_payouts[2]": "应为一个对象",
    }
    assert "此前给付的金额（prior_payouts[1].amount）" in str(raised.value)
    with pytest.raises(FactsError):
        priors_from_json({"benefit": "accident"})


# --- output and helpers -------------------------------------------------------------------------


def test_as_json_is_exactly_the_contract_shape():
    decision = Decision(
        "pay",
        M("4500.00"),
        (),
        (
            Line("住院津贴 100天 × 50元", M("5000.00")),
            Line("每次住院封顶 4500元（本地）", M("-500.00")),
        ),
        ("stay_overlaps_prior_stay",),
        None,
    )
    payload = decision.as_json()
    assert list(payload) == ["decision", "amount", "reasons", "lines"]
    assert payload == {
        "decision": "pay",
        "amount": "4500.00",
        "reasons": [],
        "lines": [
            {"label": "住院津贴 100天 × 50元", "amount": "5000.00"},
            {"label": "每次住院封顶 4500元（本地）", "amount": "-500.00"},
        ],
    }
    json.dumps(payload)


def test_every_reason_has_a_chinese_text():
    assert set(REASON_TEXT) == set(REASONS)
    assert all(text.endswith("。") for text in REASON_TEXT.values())


def test_event_date_by_benefit_code():
    both = {"admission_date": D(2024, 3, 1), "accident_date": D(2024, 2, 1)}
    assert ClaimFacts("inpatient_reimbursement", D(2024, 4, 1), **both).event_date == D(2024, 3, 1)
    assert ClaimFacts("accident_medical", D(2024, 4, 1), **both).event_date == D(2024, 2, 1)
    assert ClaimFacts("fire_loss", D(2024, 4, 1), fire_date=D(2024, 1, 5)).event_date == D(
        2024, 1, 5
    )
    assert ClaimFacts("custom", D(2024, 4, 1), **both).event_date == D(2024, 3, 1)


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 120))
def test_month_arithmetic_agrees_with_relativedelta(day, months):
    assert add_months(day, months) == day + relativedelta(months=months)
    assert coverage_end(day, months or 1) == day + relativedelta(
        months=months or 1
    ) - datetime.timedelta(1)
