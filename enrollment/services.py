"""Writes for the enrollment app.

Views, tasks and commands call these; nothing else changes state.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from enrollment.models import SHARE_LIMIT_ERROR, Enrollment, Roster, ShareHolding
from enrollment.selectors import most_held
from mutualaid.crypto import digest
from organisation.models import Member, Union
from plans.engine.identity import normalise_phone, validate_id_number
from plans.models import Plan, PlanVersion

DRAFT_STATUSES = (
    Roster.Status.UPLOADED,
    Roster.Status.CHECKING,
    Roster.Status.CHECKED,
    Roster.Status.REFUSED,
)


def coverage_end_for(start: datetime.date, months: int) -> datetime.date:
    """The last day of a period that starts on ``start`` (2024-01-01 + 12 months -> 2024-12-31)."""
    return start + relativedelta(months=months) - datetime.timedelta(days=1)


@transaction.atomic
def member_upsert(
    *,
    id_number: str,
    name: str,
    union: Union,
    employment_type: str,
    phone: str = "",
    bank_card: str = "",
    occupation: str = "",
    medical_insurance: bool = False,
    high_risk: bool = False,
) -> Member:
    """Create the person or update them; the ID number decides who they are."""
    info = validate_id_number(id_number)
    defaults = {
        "name": name.strip(),
        "birth_date": info.birth_date,
        "gender": info.gender,
        "phone": normalise_phone(phone) if phone else "",
        "bank_card": bank_card.strip(),
        "employment_type": employment_type,
        "occupation": occupation,
        "medical_insurance": medical_insurance,
        "high_risk": high_risk,
        "union": union,
    }
    # The ID number is encrypted at rest: the person is found by its lookup digest, and the
    # number itself is written only when they are created.
    member, _created = Member.objects.select_for_update().update_or_create(
        id_number_digest=digest(info.number),
        defaults=defaults,
        create_defaults={**defaults, "id_number": info.number},
    )
    return member


class AlreadyEnrolled(Exception):
    """The person already holds, on some day of this period, as many shares of the plan as it
    allows (through cover of this period or any cover that overlaps it)."""

    def __init__(self, member: Member, held: int, limit: int):
        self.member, self.held, self.limit = member, held, limit
        super().__init__(f"{member.name} already holds {held} of {limit} shares")


@transaction.atomic
def enrollment_add(
    *,
    member: Member,
    plan_version: PlanVersion,
    union: Union,
    coverage_start: datetime.date,
    shares: int,
    fee: Decimal,
    roster: Roster | None = None,
    status: str = Enrollment.Status.PENDING,
) -> Enrollment:
    """Enroll one person, adding their shares to the period's holding.

    The shares counted are the most the person holds on any day of the new period, from any
    cover that overlaps it. The plan's row is locked first, as roster imports and the database's
    share-limit trigger lock it, so two requests enrolling one person are served one after the
    other; the holding's check constraint and the trigger are the last word either way.
    """
    rules = plan_version.parsed_rules
    limit = rules.shares.max
    end = coverage_end_for(coverage_start, rules.coverage_months)
    Plan.objects.select_for_update(no_key=True).values_list("pk", flat=True).get(
        pk=plan_version.plan_id
    )
    held = most_held(
        Enrollment.objects.filter(
            member=member,
            plan=plan_version.plan,
            coverage_start__lte=end,
            coverage_end__gte=coverage_start,
        )
        .exclude(status=Enrollment.Status.CANCELLED)
        .values_list("coverage_start", "coverage_end", "shares"),
        coverage_start,
        end,
    )
    if held + shares > limit:
        raise AlreadyEnrolled(member, held, limit)
    holding, _created = ShareHolding.objects.get_or_create(
        member=member,
        plan=plan_version.plan,
        coverage_start=coverage_start,
        defaults={"share_limit": rules.shares.max},
    )
    holding = ShareHolding.objects.select_for_update().get(pk=holding.pk)
    if holding.shares + shares > holding.share_limit:
        raise AlreadyEnrolled(member, holding.shares, holding.share_limit)
    try:
        with transaction.atomic():
            ShareHolding.objects.filter(pk=holding.pk).update(shares=F("shares") + shares)
    except IntegrityError as exc:
        raise AlreadyEnrolled(member, holding.shares, holding.share_limit) from exc
    try:
        with transaction.atomic():
            return Enrollment.objects.create(
                member=member,
                plan=plan_version.plan,
                plan_version=plan_version,
                union=union,
                roster=roster,
                coverage_start=coverage_start,
                coverage_end=end,
                shares=shares,
                fee=fee,
                status=status,
                activated_at=timezone.now() if status == Enrollment.Status.ACTIVE else None,
            )
    except IntegrityError as exc:
        if SHARE_LIMIT_ERROR not in str(exc):
            raise
        raise AlreadyEnrolled(member, held, limit) from exc


@transaction.atomic
def enrollment_cancel(*, enrollment: Enrollment) -> None:
    """Cancel an enrollment and give its shares back to the period's holding."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status == Enrollment.Status.CANCELLED:
        return
    ShareHolding.objects.filter(
        member=enrollment.member_id,
        plan=enrollment.plan_id,
        coverage_start=enrollment.coverage_start,
    ).update(shares=F("shares") - enrollment.shares)
    enrollment.status = Enrollment.Status.CANCELLED
    enrollment.save(update_fields=["status"])


def roster_drafts_purge(*, older_than_days: int, now: datetime.datetime | None = None) -> int:
    """Delete rosters that never went beyond a draft, with their uploaded files.

    Drafts carry ID numbers; keeping a file nobody submitted serves no one. Returns how many
    rosters were removed.
    """
    cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
    drafts = Roster.objects.filter(status__in=DRAFT_STATUSES, updated_at__lt=cutoff).filter(
        enrollments__isnull=True
    )
    removed = 0
    for roster in drafts.iterator():
        with transaction.atomic():
            stored = roster.file.name if roster.file else ""
            roster.delete()
            if stored:
                transaction.on_commit(lambda name=stored: Roster.file.field.storage.delete(name))
        removed += 1
    return removed
