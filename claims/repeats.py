"""One event is paid once, whatever cover it is claimed on.

A member may hold more than one enrollment of a plan whose periods overlap (shares split between
two units, or cover written before overlapping cover was refused). The payout engine is told of
the money already paid or approved on every one of them (``PriorPayout.other_cover`` for the
others) and rejects a stay or event paid before with ``benefit_already_paid`` and a flag staff
see. A proposal made before the earlier claim was approved cannot know of it, so a decision
checks again, under a lock on the member's row that every decision on that member takes: two
staff approving the same stay on two enrollments at the same moment are served one after the
other, and the second one is told.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from claims.models import Claim
from organisation.models import Member

PAID_OR_APPROVED = (Claim.Status.APPROVED, Claim.Status.PAID)


def earlier_payouts(claim: Claim) -> list[tuple[Claim, object]]:
    """Claims paid or approved before this one on the member's cover in the same plan, each with
    what the engine needs to know of it (a ``PriorPayout``), oldest event first."""
    from plans.engine.payout import PriorPayout

    enrollment = claim.enrollment
    earlier = (
        Claim.objects.filter(
            enrollment__member_id=enrollment.member_id,
            enrollment__plan_id=enrollment.plan_id,
            status__in=PAID_OR_APPROVED,
        )
        .exclude(pk=claim.pk)
        .order_by("event_date", "pk")
    )
    result = []
    for other in earlier:
        facts = other.facts or {}
        proposal = other.proposal or {}
        result.append(
            (
                other,
                PriorPayout(
                    benefit=other.benefit,
                    amount=other.approved_amount or Decimal("0.00"),
                    event_date=other.event_date,
                    admission_date=_date(facts.get("admission_date")),
                    discharge_date=_date(facts.get("discharge_date")),
                    applied_base=_decimal(proposal.get("applied_base")),
                    other_cover=other.enrollment_id != enrollment.pk,
                ),
            )
        )
    return result


def paid_before(claim: Claim) -> Claim | None:
    """The earlier claim (on any of the member's cover in the plan) whose stay or event this
    claim would pay again, if any."""
    from plans.engine.payout import repeat_of

    facts = claim.facts or {}
    earlier = earlier_payouts(claim)
    found = repeat_of(
        claim.benefit,
        claim.event_date,
        _date(facts.get("admission_date")),
        _date(facts.get("discharge_date")),
        [prior for _, prior in earlier],
    )
    return next((other for other, prior in earlier if prior is found), None)


def lock_member(claim: Claim) -> None:
    """Decisions on one member's claims are served one at a time (see the module's docstring)."""
    Member.objects.select_for_update(no_key=True).values_list("pk", flat=True).get(
        pk=claim.enrollment.member_id
    )


def open_claims_of_member(claim: Claim) -> list[Claim]:
    """Other claims of the member in the same plan still waiting for a decision, whose proposal
    may now be out of date."""
    enrollment = claim.enrollment
    return list(
        Claim.objects.filter(
            enrollment__member_id=enrollment.member_id,
            enrollment__plan_id=enrollment.plan_id,
            status__in=(Claim.Status.REVIEWING, Claim.Status.INVESTIGATING),
        )
        .exclude(pk=claim.pk)
        .only("pk", "union_id")
    )


def _date(value) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _decimal(value) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None
