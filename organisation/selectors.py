"""The one scoping rule every page, export and admin list goes through, and the reads of the
union tree and its members built on it."""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from organisation.models import Member, Union, User


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
