"""Reads of rosters and enrollments, always through the scoping rule of the organisation app."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from enrollment.models import Enrollment, Roster
from organisation.models import Union, User
from organisation.selectors import scoped, visible_members, visible_unions


def visible_rosters(user: User) -> QuerySet[Roster]:
    return scoped(user, Roster.objects.select_related("union", "plan_version__plan"))


def visible_enrollments(user: User) -> QuerySet[Enrollment]:
    return scoped(user, Enrollment.objects.select_related("member", "union", "plan"))


def scope_summary(user: User) -> dict[str, int]:
    """Counts for the home page: what lies within the user's reach."""
    unions = visible_unions(user).aggregate(
        units=Count("pk", filter=Q(level=Union.Level.GRASSROOTS)),
        nodes=Count("pk"),
    )
    return {
        "units": unions["units"],
        "nodes": unions["nodes"],
        "members": visible_members(user).count(),
        "active_enrollments": visible_enrollments(user)
        .filter(status=Enrollment.Status.ACTIVE)
        .count(),
        "rosters_open": visible_rosters(user)
        .exclude(status__in=[Roster.Status.PAID, Roster.Status.WITHDRAWN])
        .count(),
    }


HELD_SHARES_CHUNK = 5000


def held_shares(
    *, plan_id: int, coverage_start, id_numbers, exclude_roster_id: int | None = None
) -> dict[str, int]:
    """Shares each of these people already hold of the plan in that period, across all unions.

    Cancelled enrollments hold nothing. A roster being re-checked does not count against itself.
    ID numbers are encrypted at rest, so people are found by their lookup digests, and the
    result is keyed by the numbers as the caller gave them. The digests are looked up in chunks
    because SQLite limits the parameters of one statement.
    """
    from django.db.models import Sum

    from mutualaid.crypto import digest

    by_digest: dict[str, list[str]] = {}
    for number in id_numbers:
        by_digest.setdefault(digest(number), []).append(number)
    digests = list(by_digest)
    held: dict[str, int] = {}
    for start in range(0, len(digests), HELD_SHARES_CHUNK):
        qs = Enrollment.objects.filter(
            plan_id=plan_id,
            coverage_start=coverage_start,
            member__id_number_digest__in=digests[start : start + HELD_SHARES_CHUNK],
        ).exclude(status=Enrollment.Status.CANCELLED)
        if exclude_roster_id is not None:
            qs = qs.exclude(roster_id=exclude_roster_id)
        for row in qs.values("member__id_number_digest").annotate(total=Sum("shares")):
            for number in by_digest[row["member__id_number_digest"]]:
                held[number] = row["total"]
    return held
