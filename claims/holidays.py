"""Keeping stored due dates true to the holiday calendar, and asking staff for next year's
holidays in time.

A claim's due date is counted once, when its documents become complete, and stored
(``Claim.due_date`` and ``Claim.due_basis``), so the review queue can sort and filter on it. The
calendar it was counted with can change afterwards: an admin enters a year the calendar package
does not know (or corrects an entry, or marks the year complete). :func:`recompute_due_dates`
then counts again, in the caller's transaction, the due dates of the open claims whose counting
ran through that year:

* only claims still open (not paid, rejected or withdrawn) are touched; a closed claim keeps the
  date it was judged against;
* a claim is touched only when its date or basis really changes, so running it twice changes
  nothing the second time (``manage.py recompute_due_dates`` runs it by hand);
* each changed claim gets an event in its history (old date → new date), and the run writes one
  audit entry naming the years and how many claims changed.

:func:`notice_for` is what the home page shows plan admins and office staff when a year's
holidays are missing: next year's from 1 November, and the current year's whenever it is not
covered (that is late already).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from claims.models import Claim, ClaimEvent, HolidayYear
from claims.workdays import as_date, calendar_for_years, package_covers
from mutualaid.auditlog import audit
from organisation.models import User

# Claims whose due date no longer matters: it was judged against when they closed.
CLOSED = (Claim.Status.PAID, Claim.Status.REJECTED, Claim.Status.WITHDRAWN)

# The audit entry of a recomputation, worded in mutualaid.auditlog.audit.NOTES.
AUDIT_NOTE = "due_dates_recomputed"

# From this month on, next year's holidays are asked for on the home page.
NOTICE_FROM_MONTH = 11
NOTICE_ROLES = (User.Role.PLAN_ADMIN, User.Role.OFFICE_STAFF)


def today() -> datetime.date:
    """Today in local time (a function of its own so tests can set the date)."""
    return timezone.localdate()


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def open_claims_counting_through(years: Iterable[int]) -> QuerySet[Claim]:
    """The open claims whose due-date counting ran through any of ``years``.

    Counting covers the days after the completion date up to the due date, so it ran through a
    year when the claim was completed before that year's 31 December (local time) and is due
    on or after its 1 January. A claim due before the year never looked at its days."""
    through = Q()
    for year in set(years):
        through |= Q(
            completed_at__lt=_local_midnight(datetime.date(year, 12, 31)),
            due_date__gte=datetime.date(year, 1, 1),
        )
    if not through:
        return Claim.objects.none()
    return Claim.objects.filter(through, completed_at__isnull=False).exclude(status__in=CLOSED)


@dataclass(frozen=True)
class Recomputed:
    years: tuple[int, ...]
    examined: int
    changed: int


def _years_text(years: Iterable[int]) -> str:
    return "、".join(str(year) for year in sorted(years))


def recompute_due_dates(
    years: Iterable[int], *, actor: User | None = None, all_open: bool = False
) -> Recomputed:
    """Count again the due dates of the open claims whose counting ran through ``years`` (every
    open claim with ``all_open``); store those that changed, with an event each, and write one
    audit entry. Runs in a transaction of its own or the caller's, locking the claims."""
    years = tuple(sorted({int(year) for year in years}))
    if not years and not all_open:
        return Recomputed(years, 0, 0)
    with transaction.atomic():
        if all_open:
            claims = Claim.objects.filter(completed_at__isnull=False).exclude(status__in=CLOSED)
        else:
            claims = open_claims_counting_through(years)
        locked = list(
            claims.select_for_update()
            .order_by("pk")
            .only("pk", "status", "completed_at", "due_date", "due_basis")
        )
        calendar = calendar_for_years({as_date(claim.completed_at).year for claim in locked})
        years_label = _years_text(years) or gettext("all years")
        changed: list[Claim] = []
        events: list[ClaimEvent] = []
        for claim in locked:
            due = calendar.add_workdays(
                as_date(claim.completed_at), settings.CLAIM_DUE_WORKING_DAYS
            )
            if (claim.due_date, claim.due_basis) == (due.date, due.basis):
                continue
            old = claim.due_date.isoformat() if claim.due_date else "—"
            claim.due_date, claim.due_basis = due.date, due.basis
            changed.append(claim)
            events.append(
                ClaimEvent(
                    claim=claim,
                    from_status=claim.status,
                    to_status=claim.status,
                    actor=actor,
                    note=gettext(
                        "Due date counted again after the holidays of %(years)s were entered "
                        "or changed: %(old)s → %(new)s (%(basis)s)."
                    )
                    % {
                        "years": years_label,
                        "old": old,
                        "new": due.date.isoformat(),
                        "basis": Claim.DueBasis(due.basis).label,
                    },
                )
            )
        if changed:
            Claim.objects.bulk_update(changed, ["due_date", "due_basis"])
            ClaimEvent.objects.bulk_create(events)
        audit.record(
            audit.Action.BULK,
            object_type="claim",
            label=gettext("Due dates, holidays of %(years)s") % {"years": years_label},
            count=len(changed),
            note=AUDIT_NOTE,
            params={
                "years": years_label,
                "examined": len(locked),
                "claims": [claim.pk for claim in changed][:200],
            },
            user=actor,
        )
    return Recomputed(years, len(locked), len(changed))


# The home page's notice ------------------------------------------------------------------------


@dataclass(frozen=True)
class HolidayNotice:
    year: int
    # Where to enter them; empty when this user may not (they are told whom to ask).
    url: str
    # True when the year has begun already (not merely coming).
    late: bool


def missing_year(on: datetime.date) -> int | None:
    """The year whose holidays should be entered by ``on`` and are not: the current year, or
    from 1 November the next one. A year the package knows costs no query."""
    wanted = [on.year] + ([on.year + 1] if on.month >= NOTICE_FROM_MONTH else [])
    unknown = [year for year in wanted if not package_covers(year)]
    if not unknown:
        return None
    complete = set(
        HolidayYear.objects.filter(year__in=unknown, complete=True).values_list("year", flat=True)
    )
    return next((year for year in unknown if year not in complete), None)


def _entry_url(user: User, year: int) -> str:
    if not (user.is_active and user.is_staff):
        return ""
    existing = HolidayYear.objects.filter(year=year).values_list("pk", flat=True).first()
    if existing is not None and user.has_perm("claims.change_holidayyear"):
        return reverse("admin:claims_holidayyear_change", args=[existing])
    if existing is None and user.has_perm("claims.add_holidayyear"):
        return reverse("admin:claims_holidayyear_add") + f"?year={year}"
    return ""


def notice_for(user: User, on: datetime.date | None = None) -> HolidayNotice | None:
    """The home page's reminder for ``user``, or None (clerks, county staff and auditors never
    see it; nobody sees it while the years that matter are covered)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not (user.is_superuser or user.role in NOTICE_ROLES):
        return None
    on = on or today()
    year = missing_year(on)
    if year is None:
        return None
    return HolidayNotice(year=year, url=_entry_url(user, year), late=year <= on.year)
