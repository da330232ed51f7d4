"""Reads for plans: which plans a user may see, which a unit may enroll in, and which version is
in force on a day.

A plan is offered under a set of union nodes (offices, or city and county unions under them); a
unit may enroll in it when one of those nodes is the unit itself or above it. A plan run by an
office (``Plan.office``) is never seen outside that office, wherever it is offered.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from organisation.models import Union, User
from plans.models import Plan, PlanVersion


def _path_prefixes(path: str) -> list[str]:
    """The paths of a node and every node above it."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _owner_allows(path: str) -> Q:
    return Q(office__isnull=True) | Q(office__path__in=_path_prefixes(path))


def _offered(condition: Q) -> Exists:
    through = Plan.offered_under.through
    return Exists(
        through.objects.filter(plan_id=OuterRef("pk")).filter(
            union_id__in=Union.objects.filter(condition).values("pk")
        )
    )


def plans_offered_to(union: Union) -> QuerySet[Plan]:
    """The plans a unit (or any node) may enroll in: offered under it or a node above it."""
    return Plan.objects.filter(_owner_allows(union.path)).filter(
        _offered(Q(path__in=_path_prefixes(union.path)))
    )


def visible_plans(user: User) -> QuerySet[Plan]:
    """The plans a user is shown: the one rule every plan list, choice and check goes through.

    Plan admins see every plan (but another office's own plans); a clerk sees the plans their
    unit may enroll in; county, city and office staff and auditors also see those offered only
    to a node below them, whose units they look after.
    """
    if not user.is_authenticated or not user.is_active:
        return Plan.objects.none()
    if user.union_id is None:
        return Plan.objects.all() if user.is_superuser else Plan.objects.none()
    path = user.union.path
    if user.role == User.Role.PLAN_ADMIN:
        return Plan.objects.filter(_owner_allows(path))
    if user.role == User.Role.CLERK:
        return plans_offered_to(user.union)
    return Plan.objects.filter(_owner_allows(path)).filter(
        _offered(Q(path__in=_path_prefixes(path)) | Q(path__startswith=path))
    )


def version_in_force(plan: Plan, day: datetime.date) -> PlanVersion | None:
    """The published version whose effective range contains ``day``."""
    return (
        plan.versions.filter(
            status__in=[PlanVersion.Status.PUBLISHED, PlanVersion.Status.SUPERSEDED],
            effective_from__lte=day,
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("-effective_from", "-number")
        .first()
    )
