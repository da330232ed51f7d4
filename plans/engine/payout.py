"""The payout engine: what a claim on an enrollment pays, and why (CONTRACTS §4).

One implementation serves the web pages, the claims worker and ``quote_claim``. Every number
comes from the plan version's rules (``plans.engine.rules``); none is written here. No Django:
the engine runs in a worker, a command and a benchmark alike.

How a decision is reached
-------------------------
1. A benefit code the plan does not have is rejected with ``benefit_not_in_plan``.
2. Facts that cannot be judged (a field the benefit needs is missing, discharge before
   admission, a grade out of range, filed before the event...) raise ``FactsError``: that is an
   input problem, not a decision.
3. Every rejection reason that applies is collected, not just the first, so a notice can list
   them all. A reason's details (with the numbers) are given as lines of 0.00.
   Reasons are listed in the order of ``REASONS``.
4. When nothing stands in the way, the amount is computed line by line. The first line is the
   benefit itself; each cap that cuts it adds a line carrying the (negative) reduction, so the
   amounts of the lines always add up to the decision amount. Every line is rounded half up to
   0.01 yuan (``quantize_money``); caps are whole cents already, so what a cap leaves needs no
   further rounding.
5. A cap that leaves nothing rejects the claim with ``period_cap_reached``.

Choices the catalog leaves open (documented and tested)
-------------------------------------------------------
Each is documented beside the code that makes it:

* ``plans.engine.payout_judge``: the coverage period, the filing deadline, the waiting period,
  what ``prior`` holds and how it is counted, duplicate and overlapping stays.
* ``plans.engine.payout_benefits``: an accident that is a work injury, the accident cap
  (``cap_at_applied_base``, ``Decision.applied_base``), reimbursement (rate, deductible and
  its scope, ``per_share``), a cost not above the deductible and any other benefit that
  comes to 0.00.

How the engine is split
-----------------------
Imports point one way, from the bottom up:

* ``payout_terms``: reason codes and ``REASON_TEXT``, flags, benefit codes, field labels,
  ``ClaimFacts``, ``PriorPayout``, ``Line``, ``Decision`` and ``FactsError``;
* ``payout_input``: ``facts_from_json`` and ``priors_from_json`` (uses the terms only);
* ``payout_judge``: dates, the shared checks and the ``_Judge`` base;
* ``payout_benefits``: the four kinds of benefit;
* this module: ``decide`` and ``decide_many``, and compiling a plan's rules into judges.

This module re-exports the public names of the others (``__all__``), so callers keep
importing everything from ``plans.engine.payout``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from plans.engine.payout_benefits import _JUDGES
from plans.engine.payout_input import facts_from_json, priors_from_json
from plans.engine.payout_judge import (
    Note,
    _Judge,
    _note,
    _PlanPeriod,
    _reject,
    add_months,
    coverage_end,
    repeat_of,
)
from plans.engine.payout_terms import (
    ALREADY_PAID,
    BENEFIT_CODES,
    CAP_REACHED,
    COUNT_EXCEEDED,
    DEADLINE_PASSED,
    FACT_FIELDS,
    FIELD_LABELS,
    FLAG_BELOW_DEDUCTIBLE,
    FLAG_DUPLICATE,
    FLAG_NOTHING_PAYABLE,
    FLAG_OTHER_COVER,
    FLAG_OVERLAP,
    FLAG_WORK_INJURY,
    GRADE_TOO_LOW,
    NOT_COVERED,
    NOT_IN_PLAN,
    OUTCOMES,
    PRIOR_FIELDS,
    REASON_TEXT,
    REASONS,
    STAY_TOO_SHORT,
    WAITING_PERIOD,
    ClaimFacts,
    Decision,
    FactsError,
    Line,
    PriorPayout,
)
from plans.engine.rules import PlanRules

__all__ = [
    "ALREADY_PAID",
    "BENEFIT_CODES",
    "CAP_REACHED",
    "COUNT_EXCEEDED",
    "DEADLINE_PASSED",
    "FACT_FIELDS",
    "FIELD_LABELS",
    "FLAG_BELOW_DEDUCTIBLE",
    "FLAG_DUPLICATE",
    "FLAG_NOTHING_PAYABLE",
    "FLAG_OTHER_COVER",
    "FLAG_OVERLAP",
    "FLAG_WORK_INJURY",
    "GRADE_TOO_LOW",
    "NOT_COVERED",
    "NOT_IN_PLAN",
    "OUTCOMES",
    "PRIOR_FIELDS",
    "REASONS",
    "REASON_TEXT",
    "STAY_TOO_SHORT",
    "WAITING_PERIOD",
    "ClaimFacts",
    "Decision",
    "FactsError",
    "Line",
    "Note",
    "PriorPayout",
    "add_months",
    "coverage_end",
    "decide",
    "decide_many",
    "facts_from_json",
    "priors_from_json",
    "repeat_of",
]


# --- public entry points -----------------------------------------------------------------------


def decide(
    rules: PlanRules,
    *,
    coverage_start: datetime.date,
    shares: int,
    facts: ClaimFacts,
    prior: Sequence[PriorPayout] = (),
) -> Decision:
    """The decision on one claim. Raises FactsError when the facts cannot be judged."""
    return _compiled(rules).decide(coverage_start, shares, facts, prior)


def decide_many(
    items: Iterable[tuple[PlanRules, datetime.date, int, ClaimFacts, Sequence[PriorPayout]]],
) -> list[Decision]:
    """``decide`` for many claims: (rules, coverage_start, shares, facts, prior) each. Stops
    with FactsError at the first claim that cannot be judged."""
    out: list[Decision] = []
    append = out.append
    cache: dict[int, _Plan] = {}
    for rules, start, shares, facts, prior in items:
        plan = cache.get(id(rules))
        if plan is None:
            plan = cache[id(rules)] = _compiled(rules)
        append(plan.decide(start, shares, facts, prior))
    return out


# --- compiled rules ----------------------------------------------------------------------------

# Compiling the rules (labels, multipliers, lookups) once per rules object keeps the hot path
# short. Keyed by identity with the object kept alive, so an id cannot be reused while cached;
# bounded, because a long-lived worker parses a new rules object for every version it loads.
_CACHE: dict[int, tuple[PlanRules, _Plan]] = {}
_CACHE_MAX = 256


def _compiled(rules: PlanRules) -> _Plan:
    hit = _CACHE.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    plan = _Plan(rules)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(rules)] = (rules, plan)
    return plan


class _Plan(_PlanPeriod):
    """A plan's compiled benefits (one judge each) on top of its coverage period and filing
    deadline (``_PlanPeriod``, which the judges check)."""

    __slots__ = ("benefits",)

    def __init__(self, rules: PlanRules):
        super().__init__(rules)
        self.benefits: dict[str, _Judge] = {b.code: _JUDGES[b.type](b) for b in rules.benefits}

    def decide(
        self,
        start: datetime.date,
        shares: int,
        facts: ClaimFacts,
        prior: Sequence[PriorPayout],
    ) -> Decision:
        judge = self.benefits.get(facts.benefit)
        if judge is None:
            return _reject([_note(NOT_IN_PLAN, f"本计划不含保障项目“{facts.benefit}”")])
        if type(shares) is not int or shares < 1:
            raise FactsError({"shares": "应为不小于 1 的整数"})
        return judge.judge(self, start, shares, facts, prior)
