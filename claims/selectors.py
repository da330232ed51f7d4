"""Reads for claims, always within the user's scope."""

from django.db.models import QuerySet

from claims.models import Claim
from organisation.models import User
from organisation.selectors import scoped


def visible_claims(user: User) -> QuerySet[Claim]:
    return scoped(
        user, Claim.objects.select_related("union", "enrollment__member", "enrollment__plan")
    )


def failed_payment_reason():
    """For annotating claims: why the bank returned the claim's payment, when a payment of the
    claim waits for a corrected account (the reason code of its last returned transfer), else
    None."""
    from django.db.models import OuterRef, Subquery

    from claims.models import Payout, Transfer

    return Subquery(
        Transfer.objects.filter(
            payout__claim=OuterRef("pk"),
            payout__status=Payout.Status.FAILED,
            status=Transfer.Status.RETURNED,
        )
        .order_by("-pk")
        .values("return_reason")[:1]
    )
