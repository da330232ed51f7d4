"""Reads for the enrollment app, starting with the one scoping rule every view goes through."""

from __future__ import annotations

from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404

from enrollment.models import Enrollment, Member, Roster, Union, User


def scope_filter(user: User, union_field: str = "union") -> Q:
    """The condition that limits rows to the user's node of the union tree and below.

    ``union_field`` is the lookup from the model to its Union ("union", "enrollment__union"...).
    A superuser without a node sees everything; anyone else without a node sees nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.union_id is None:
        return Q() if user.is_superuser else Q(pk__in=[])
    prefix = user.union.path
    if union_field == "":
        return Q(path__startswith=prefix)
    # A semi-join on the ids of the subtree rather than a join to the union table: the planner
    # can then count and order the scoped rows from their own indexes.
    subtree = Union.objects.filter(path__startswith=prefix).values("pk")
    return Q(**{f"{union_field}__in": subtree})


def scoped[M: Model](user: User, queryset: QuerySet[M], union_field: str = "union") -> QuerySet[M]:
    """Every queryset a user sees passes through here."""
    return queryset.filter(scope_filter(user, union_field))


def scoped_get_or_404[M: Model](
    user: User, queryset: QuerySet[M], union_field: str = "union", **lookup: object
) -> M:
    """One object the user may see, or 404: another union's object does not exist for them."""
    try:
        return scoped(user, queryset, union_field).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def visible_unions(user: User) -> QuerySet[Union]:
    return scoped(user, Union.objects.all(), union_field="")


def visible_units(user: User) -> QuerySet[Union]:
    return visible_unions(user).filter(level=Union.Level.GRASSROOTS)


def visible_members(user: User) -> QuerySet[Member]:
    return scoped(user, Member.objects.select_related("union"))


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
