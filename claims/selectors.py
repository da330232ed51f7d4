"""Reads for claims, always within the user's scope."""

from django.db.models import QuerySet

from claims.models import Claim
from organisation.models import User
from organisation.selectors import scoped


def visible_claims(user: User) -> QuerySet[Claim]:
    return scoped(
        user, Claim.objects.select_related("union", "enrollment__member", "enrollment__plan")
    )
