"""Try a draft before publishing: a sample roster and sample claims run against the draft and
the version in force side by side, with what changes."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from plans.engine.findings import ERROR
from plans.engine.payout import ClaimFacts, decide
from plans.engine.roster import RosterFileError, check_roster
from plans.engine.rules import PlanRules
from plans.reading import roster_read_limits


@dataclass
class RosterSide:
    rows: int = 0
    valid_rows: int = 0
    fee_total: Decimal = Decimal("0.00")
    errors: Counter = field(default_factory=Counter)
    refused: str = ""


@dataclass
class ClaimRow:
    label: str
    current: object
    draft: object

    @property
    def changed(self) -> bool:
        return (self.current.decision, self.current.amount) != (
            self.draft.decision,
            self.draft.amount,
        )


def roster_side(
    rules: PlanRules,
    data: bytes,
    *,
    plan_code: str,
    coverage_start: datetime.date,
    headcount: int | None,
) -> RosterSide:
    try:
        result = check_roster(
            data,
            rules=rules,
            plan_code=plan_code,
            coverage_start=coverage_start,
            headcount=headcount,
            # An uploaded sample is read in a limited child process, never in the web's own.
            sandbox=roster_read_limits(),
        )
    except RosterFileError as refused:
        return RosterSide(refused=refused.finding.message)
    return RosterSide(
        rows=result.rows,
        valid_rows=result.valid_rows,
        fee_total=result.fee_total,
        errors=Counter(f.code for f in result.findings if f.level == ERROR),
    )


def compare_roster(
    current: PlanRules,
    draft: PlanRules,
    data: bytes,
    *,
    plan_code: str,
    coverage_start: datetime.date,
    headcount: int | None,
) -> dict:
    before = roster_side(
        current, data, plan_code=plan_code, coverage_start=coverage_start, headcount=headcount
    )
    after = roster_side(
        draft, data, plan_code=plan_code, coverage_start=coverage_start, headcount=headcount
    )
    codes = sorted(set(before.errors) | set(after.errors))
    return {
        "current": before,
        "draft": after,
        "codes": [(code, before.errors.get(code, 0), after.errors.get(code, 0)) for code in codes],
    }


def compare_claims(
    current: PlanRules,
    draft: PlanRules,
    samples: list[tuple[str, ClaimFacts]],
    *,
    coverage_start: datetime.date,
    shares: int = 1,
) -> list[ClaimRow]:
    rows = []
    for label, facts in samples:
        rows.append(
            ClaimRow(
                label=label,
                current=decide(current, coverage_start=coverage_start, shares=shares, facts=facts),
                draft=decide(draft, coverage_start=coverage_start, shares=shares, facts=facts),
            )
        )
    return rows
