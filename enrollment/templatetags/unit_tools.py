"""The unit page's headcount line and its renewal and member-list downloads, as tags, so the
union page's view stays as it is and each piece fetches what it shows."""

from __future__ import annotations

from django import template

from enrollment import renewal
from enrollment.views import REVEAL_ROLES
from organisation import headcount

register = template.Library()


@register.inclusion_tag("enrollment/_unit_headcount.html", takes_context=True)
def unit_headcount(context, union) -> dict:
    user = context["request"].user
    pending = headcount.pending_proposal(union) if union.is_grassroots else None
    return {
        "union": union,
        "pending": pending,
        "may_propose": headcount.may_propose(user, union),
        "may_decide": headcount.may_decide(user, union),
    }


@register.inclusion_tag("enrollment/_unit_renewal.html", takes_context=True)
def unit_renewal(context, union) -> dict:
    user = context["request"].user
    allowed = union.is_grassroots and (user.is_superuser or user.role in REVEAL_ROLES)
    return {
        "union": union,
        "allowed": allowed,
        "periods": renewal.latest_periods(union) if allowed else [],
        "csrf_token": context.get("csrf_token"),
    }
