"""Properties of every decision, over generated claims on all eleven catalog plans: amounts are
never negative, always whole cents, add up line by line, and never pass the caps that apply."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plans.engine.payout import REASONS, ClaimFacts, PriorPayout, decide, decide_many
from plans.engine.rules import parse_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
PLANS = {
    path.stem: parse_rules(json.loads(path.read_text(encoding="utf-8"))["versions"][0]["rules"])
    for path in sorted(FIXTURES.glob("*.json"))
}
ZERO = Decimal("0.00")
TWO_PLACES = re.compile(r"^-?\d+\.\d\d$")
DAY = datetime.timedelta(days=1)

cents = st.integers(0, 5_000_000).map(lambda n: Decimal(n) / 100)
starts = st.dates(min_value=datetime.date(2019, 1, 1), max_value=datetime.date(2027, 12, 31))


@st.composite
def claims(draw):
    code = draw(st.sampled_from(sorted(PLANS)))
    rules = PLANS[code]
    benefit = draw(st.sampled_from(rules.benefits))
    shares = draw(st.integers(rules.shares.min, rules.shares.max))
    start = draw(starts)
    event = start + DAY * draw(st.integers(-30, 400))
    stay_days = draw(st.integers(0, 200))
    discharge = event + DAY * stay_days
    filed = discharge + DAY * draw(st.integers(0, 900))
    outcome = draw(st.sampled_from(("death", "disability")))
    facts = ClaimFacts(
        benefit=benefit.code,
        filed_date=filed,
        admission_date=event,
        discharge_date=discharge,
        hospital_locality=draw(st.sampled_from(("local", "elsewhere"))),
        hospital_grade=draw(st.integers(1, 3)),
        diagnosis_date=event,
        accident_date=event,
        outcome=outcome,
        disability_grade=draw(st.integers(1, 10)) if outcome == "disability" else None,
        during_hospital_stay=draw(st.booleans()),
        eligible_cost=draw(cents),
        fire_date=event,
        work_injury=draw(st.booleans()),
    )
    codes = [b.code for b in rules.benefits] + ["accident_medical"]
    prior_stays = st.builds(
        lambda code, amount, admitted, days, base: PriorPayout(
            code,
            amount,
            admitted,
            admission_date=admitted,
            discharge_date=admitted + DAY * days,
            applied_base=base,
        ),
        st.sampled_from(codes),
        st.integers(0, 2_000_000).map(lambda n: Decimal(n) / 100),
        st.dates(min_value=start, max_value=start + DAY * 364),
        st.integers(0, 60),
        st.none()
        | st.sampled_from([Decimal("10000.00"), Decimal("20000.00"), Decimal("40000.00")]),
    )
    prior = tuple(draw(st.lists(prior_stays, max_size=4)))
    return rules, start, shares, facts, prior


def same_benefit(prior, code):
    return [p for p in prior if p.benefit == code]


def check_caps(rules, shares, facts, prior, decision):
    benefit = rules.benefit(facts.benefit)
    amount = decision.amount
    per = shares if benefit.per_share else 1
    mine = same_benefit(prior, benefit.code)
    paid = sum((p.amount for p in mine), ZERO)
    if benefit.type == "hospital_allowance":
        assert amount <= benefit.stay_cap[facts.hospital_locality] * per
        if benefit.period_cap is not None and amount:
            assert paid + amount <= benefit.period_cap * per
        if benefit.max_paid_stays_per_period is not None and amount:
            assert len([p for p in mine if p.amount > 0]) < benefit.max_paid_stays_per_period
    elif benefit.type == "critical_illness":
        assert amount <= max(t.amount for t in benefit.tiers) * per
        if amount:
            assert not [p for p in mine if p.amount > 0]
    elif benefit.type == "accident":
        bases = [benefit.death_amount, benefit.disability_base, benefit.disability_base_in_hospital]
        ceiling = max(b for b in bases if b is not None) * per
        assert amount <= ceiling
        if benefit.cap_at_applied_base and amount:
            applied = [decision.applied_base] + [p.applied_base for p in mine if p.applied_base]
            assert paid + amount <= max(applied)
        if benefit.excludes_work_injury and facts.work_injury:
            assert amount == 0
    else:
        assert amount <= facts.eligible_cost
        if benefit.period_cap is not None and amount:
            assert paid + amount <= benefit.period_cap * per


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims())
def test_every_decision_keeps_the_invariants(claim):
    rules, start, shares, facts, prior = claim
    decision = decide(rules, coverage_start=start, shares=shares, facts=facts, prior=prior)

    assert decision.amount >= 0
    assert decision.amount == sum((line.amount for line in decision.lines), ZERO)
    assert decision.amount.as_tuple().exponent == -2
    assert all(line.amount.as_tuple().exponent == -2 for line in decision.lines)
    assert all(line.label for line in decision.lines)
    if decision.decision == "pay":
        assert decision.reasons == () and decision.amount > 0
    else:
        assert decision.decision == "reject" and decision.amount == ZERO
        assert decision.reasons and set(decision.reasons) <= set(REASONS)
        order = [REASONS.index(r) for r in decision.reasons]
        assert order == sorted(set(order))
    check_caps(rules, shares, facts, prior, decision)

    payload = decision.as_json()
    assert list(payload) == ["decision", "amount", "reasons", "lines"]
    assert TWO_PLACES.match(payload["amount"])
    assert all(TWO_PLACES.match(line["amount"]) for line in payload["lines"])
    json.dumps(payload, ensure_ascii=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(claims(), min_size=1, max_size=20))
def test_decide_many_is_decide_in_a_loop(batch):
    expected = [decide(r, coverage_start=s, shares=n, facts=f, prior=p) for r, s, n, f, p in batch]
    assert decide_many(batch) == expected
