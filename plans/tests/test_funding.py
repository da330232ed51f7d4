"""Funding rules per plan, and splits that add up to the cent."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plans.engine.funding import FundingChoice, FundingError, funding_split, funding_validate
from plans.engine.rules import parse_rules

PLANS = Path(__file__).resolve().parents[2] / "fixtures" / "plans"


def rules(code):
    return parse_rules(json.loads((PLANS / f"{code}.json").read_text())["versions"][0]["rules"])


def choice(mode=None, **percent):
    return FundingChoice(mode=mode, percent={k: Decimal(v) for k, v in percent.items()})


def test_linyi_inpatient_needs_unit_and_union_at_least_70_percent():
    plan = rules("linyi-inpatient-2019")
    funding_validate(plan, choice(unit="50", union="20", member="30"))
    with pytest.raises(FundingError) as err:
        funding_validate(plan, choice(unit="40", union="20", member="40"))
    assert "至少 70%" in err.value.errors[""]


def test_jilin_subsidy_is_30_per_member_and_the_rest_is_split():
    plan = rules("jilin-allowance-2020")
    split = funding_split(
        plan, choice(unit="60", member="40"), fee_total=Decimal("12870.00"), members=117
    )
    assert split == {
        "subsidy": Decimal("3510.00"),
        "unit": Decimal("5616.00"),
        "member": Decimal("3744.00"),
    }


def test_jilin_does_not_allow_union_funds():
    with pytest.raises(FundingError) as err:
        funding_validate(rules("jilin-allowance-2020"), choice(unit="50", union="50"))
    assert "union" in err.value.errors


def test_beijing_modes_decide_who_pays():
    plan = rules("beijing-accident-2011")
    funding_validate(plan, choice("unit_all", unit="100", union="0", member="0"))
    with pytest.raises(FundingError) as err:
        funding_validate(plan, choice("unit_all", unit="50", union="0", member="50"))
    assert "member" in err.value.errors
    with pytest.raises(FundingError):
        funding_validate(plan, choice(None, unit="100"))


def test_percentages_must_add_up_to_100():
    with pytest.raises(FundingError) as err:
        funding_validate(rules("linyi-accident-2019"), choice(unit="50", union="20", member="20"))
    assert "合计应为 100%" in err.value.errors[""]


@given(
    total_cents=st.integers(min_value=0, max_value=10**9),
    unit=st.integers(min_value=0, max_value=100),
    members=st.integers(min_value=0, max_value=100_000),
)
def test_split_always_adds_up_to_the_total(total_cents, unit, members):
    plan = rules("jilin-allowance-2020")
    total = Decimal(total_cents) / 100
    split = funding_split(
        plan, choice(unit=str(unit), member=str(100 - unit)), fee_total=total, members=members
    )
    assert sum(split.values()) == total
    assert all(v >= 0 and v == v.quantize(Decimal("0.01")) for v in split.values())
