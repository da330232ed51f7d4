"""Reads for plans: which plans a user may see and which version is in force on a day."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from organisation.models import User
from plans.models import Plan, PlanVersion


def visible_plans(user: User) -> QuerySet[Plan]:
    """Plans open to every office, and those of the offices above (or at) the user's node."""
    if user.is_superuser and user.union_id is None:
        return Plan.objects.all()
    if user.union_id is None:
        return Plan.objects.none()
    ancestor_paths = _prefixes(user.union.path)
    return Plan.objects.filter(Q(office__isnull=True) | Q(office__path__in=ancestor_paths))


def _prefixes(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


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
