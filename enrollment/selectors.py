"""Reads of rosters and enrollments, always through the scoping rule of the organisation app."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from enrollment.models import Enrollment, Roster
from organisation.models import Union, User
from organisation.selectors import scoped, visible_members, visible_unions
from plans.selectors import visible_plans


def visible_rosters(user: User) -> QuerySet[Roster]:
    return scoped(user, Roster.objects.select_related("union", "plan_version__plan"))


def visible_enrollments(user: User) -> QuerySet[Enrollment]:
    return scoped(user, Enrollment.objects.select_related("member", "union", "plan"))


def enrollments_in_force(
    user: User, on: datetime.date | None = None, plan_id: int | None = None
) -> QuerySet[Enrollment]:
    """The cover in force on the day (today unless given) within the user's scope, in the plans
    the user may see (one plan if given): what every count of cover in force counts, on the home
    page, the union pages and the dashboards alike (see ``Enrollment.objects.in_force``)."""
    cover = scoped(user, Enrollment.objects.in_force(on)).filter(
        plan_id__in=visible_plans(user).values("pk")
    )
    if plan_id is not None:
        cover = cover.filter(plan_id=plan_id)
    return cover


def in_force_counts(
    user: User, on: datetime.date | None = None, plan_id: int | None = None
) -> dict[str, int]:
    """Cover in force on the day, counted two ways in one query: ``people``, distinct members
    (a member holding several pieces of cover counts once), and ``enrollments`` (参保人次), each
    piece of cover once."""
    counts = enrollments_in_force(user, on, plan_id).aggregate(
        people=Count("member_id", distinct=True), enrollments=Count("pk")
    )
    return {"people": counts["people"] or 0, "enrollments": counts["enrollments"] or 0}


def scope_summary(user: User, on: datetime.date | None = None) -> dict[str, int]:
    """Counts for the home page: what lies within the user's reach, cover as in force today."""
    unions = visible_unions(user).aggregate(
        units=Count("pk", filter=Q(level=Union.Level.GRASSROOTS)),
        nodes=Count("pk"),
    )
    in_force = in_force_counts(user, on)
    return {
        "units": unions["units"],
        "nodes": unions["nodes"],
        "members": visible_members(user).count(),
        "people_in_force": in_force["people"],
        "enrollments_in_force": in_force["enrollments"],
        "rosters_open": visible_rosters(user)
        .exclude(status__in=[Roster.Status.PAID, Roster.Status.WITHDRAWN])
        .count(),
    }


@dataclass(frozen=True)
class SubtreeTotals:
    """A union and everything below it: the headcounts on the books, the members on record and
    the cover in force on the day (distinct people and pieces of cover)."""

    headcount: int = 0
    members: int = 0
    people_in_force: int = 0
    enrollments_in_force: int = 0


def subtree_totals(
    user: User, nodes: Iterable[Union], on: datetime.date | None = None
) -> dict[int, SubtreeTotals]:
    """``SubtreeTotals`` of each node (by id), within the user's scope.

    However many nodes, three queries: each measure is one aggregate with a filtered count per
    node over its path prefix (a materialised path, so "the node and below" is a prefix). The
    distinct counts are exact: a member with cover in two units of one subtree counts once."""
    paths = {node.pk: node.path for node in nodes}
    if not paths:
        return {}
    heads = visible_unions(user).aggregate(
        **{f"h{pk}": Sum("headcount", filter=Q(path__startswith=p)) for pk, p in paths.items()}
    )
    members = (
        visible_members(user)
        .order_by()
        .aggregate(
            **{
                f"m{pk}": Count("pk", filter=Q(union__path__startswith=p))
                for pk, p in paths.items()
            }
        )
    )
    cover_counts = {}
    for pk, p in paths.items():
        below = Q(union__path__startswith=p)
        cover_counts[f"p{pk}"] = Count("member_id", filter=below, distinct=True)
        cover_counts[f"e{pk}"] = Count("pk", filter=below)
    cover = enrollments_in_force(user, on).order_by().aggregate(**cover_counts)
    return {
        pk: SubtreeTotals(
            headcount=heads[f"h{pk}"] or 0,
            members=members[f"m{pk}"] or 0,
            people_in_force=cover[f"p{pk}"] or 0,
            enrollments_in_force=cover[f"e{pk}"] or 0,
        )
        for pk in paths
    }


HELD_SHARES_CHUNK = 5000


def held_shares(
    *,
    plan_id: int,
    coverage_start: datetime.date,
    coverage_end: datetime.date | None = None,
    id_numbers: Iterable[str],
    exclude_roster_id: int | None = None,
) -> dict[str, int]:
    """The most shares of the plan each of these people holds on any one day of the period
    ``coverage_start``…``coverage_end`` (both included), across all unions and all cover that
    overlaps the period, not only cover starting on the same day.

    ``coverage_end`` defaults to the end of a period of the plan version in force on
    ``coverage_start``. Cancelled enrollments hold nothing. A roster being re-checked does not
    count against itself. ID numbers are encrypted at rest, so people are found by their lookup
    digests, and the result is keyed by the numbers as the caller gave them (people holding
    nothing are left out). The digests are looked up in chunks because SQLite limits the
    parameters of one statement.
    """
    from mutualaid.crypto import digest

    if coverage_end is None:
        coverage_end = _period_end(plan_id, coverage_start)
    by_digest: dict[str, list[str]] = {}
    for number in id_numbers:
        by_digest.setdefault(digest(number), []).append(number)
    digests = list(by_digest)
    cover: dict[str, list[tuple[datetime.date, datetime.date, int]]] = {}
    for start in range(0, len(digests), HELD_SHARES_CHUNK):
        qs = Enrollment.objects.filter(
            plan_id=plan_id,
            coverage_start__lte=coverage_end,
            coverage_end__gte=coverage_start,
            member__id_number_digest__in=digests[start : start + HELD_SHARES_CHUNK],
        ).exclude(status=Enrollment.Status.CANCELLED)
        if exclude_roster_id is not None:
            qs = qs.exclude(roster_id=exclude_roster_id)
        rows = qs.values_list(
            "member__id_number_digest", "coverage_start", "coverage_end", "shares"
        )
        for key, first, last, shares in rows:
            cover.setdefault(key, []).append((first, last, shares))
    held: dict[str, int] = {}
    for key, periods in cover.items():
        most = most_held(periods, coverage_start, coverage_end)
        if most:
            for number in by_digest[key]:
                held[number] = most
    return held


def most_held(
    periods: Iterable[tuple[datetime.date, datetime.date, int]],
    start: datetime.date,
    end: datetime.date,
) -> int:
    """The most shares held on any one day from ``start`` to ``end``, given the (first day, last
    day, shares) of each piece of cover. The total only rises where a piece of cover begins, so
    the days to look at are ``start`` and every beginning inside the period."""
    periods = [p for p in periods if p[0] <= end and start <= p[1]]
    days = {start} | {first for first, _, _ in periods if start < first <= end}
    return max(
        (sum(n for first, last, n in periods if first <= day <= last) for day in days), default=0
    )


def _period_end(plan_id: int, start: datetime.date) -> datetime.date:
    """The last day of a period of the plan starting on ``start``, by the version in force then
    (or the plan's latest version, or twelve months when it has none)."""
    from plans.engine.payout import coverage_end
    from plans.models import Plan
    from plans.selectors import version_in_force

    plan = Plan.objects.get(pk=plan_id)
    version = version_in_force(plan, start) or plan.versions.order_by("-number").first()
    months = version.parsed_rules.coverage_months if version is not None else 12
    return coverage_end(start, months)
