"""Numbers shown in full, limited per user.

A clerk or office worker may see an ID, bank or payee account number in full (the "Show in
full" buttons, the bank card filled into a claim report form). Each such view is written to the
audit log; this module also limits how many one user may have in any minute and in any 24 hours
(REVEAL_LIMIT_PER_MINUTE, REVEAL_LIMIT_PER_DAY), so that a script or a borrowed login cannot read
out the members' numbers hundreds at a time.

The audit log itself is the counter: every view in full is an entry there anyway, in the one
database every web process shares. A per-process cache would let each of gunicorn's processes
allow the limit again, and a shared one (Redis, a cache table) would be a second record that can
disagree with the first; counting the user's own entries (indexed by user and time) is exact
whatever serves the request. The user's row is locked while counting, so parallel requests
cannot all slip under the limit.

A view past the limit shows nothing, is recorded as refused (``REFUSED_NOTES``) and is listed to
auditors and office staff on the dashboards page.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from mutualaid.auditlog import audit
from mutualaid.auditlog.models import AuditEntry

# The audit notes of a number shown in full: what the limits count.
SHOWN_NOTES = (
    "id_number_shown",
    "bank_card_shown",
    "payee_account_shown",
    "claim_form_bank_card",
    # A workbook of a unit's people with their numbers in full counts as one view.
    "renewal_workbook",
    "member_list_export",
)
# The notes of a refusal, by the limit reached.
REFUSED_NOTES = {"minute": "reveal_limit_minute", "day": "reveal_limit_day"}
MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return timezone.now()


def _reached(user) -> tuple[str, int] | None:
    """The window ("minute" or "day") whose limit the user has reached, with the limit."""
    now = _now()
    counts = AuditEntry.objects.filter(
        actor_id=user.pk, note__in=SHOWN_NOTES, at__gt=now - DAY
    ).aggregate(day=Count("pk"), minute=Count("pk", filter=Q(at__gt=now - MINUTE)))
    if counts["minute"] >= settings.REVEAL_LIMIT_PER_MINUTE:
        return "minute", settings.REVEAL_LIMIT_PER_MINUTE
    if counts["day"] >= settings.REVEAL_LIMIT_PER_DAY:
        return "day", settings.REVEAL_LIMIT_PER_DAY
    return None


def reveal(request: HttpRequest, *, obj: Model, note: str, count: int = 1) -> bool:
    """Record one number of ``obj`` shown in full to the request's user, and say whether it may
    be shown: False when the user has reached a limit, and then the refusal is recorded instead
    (its entry names the limit). Call it before showing the number."""
    user = request.user
    with transaction.atomic():
        # One request of a user at a time past this point.
        list(get_user_model()._base_manager.select_for_update().filter(pk=user.pk).values("pk"))
        reached = _reached(user)
        if reached is None:
            audit.record(audit.Action.VIEW, obj=obj, note=note, count=count)
            return True
        window, limit = reached
        audit.record(
            audit.Action.REFUSED,
            obj=obj,
            note=REFUSED_NOTES[window],
            params={"limit": limit, "asked": note},
        )
    request.reveal_refused = reached
    return False


def refusal_text(request: HttpRequest) -> str:
    """What the user is told when a number was not shown (after :func:`reveal` said no)."""
    window, limit = getattr(request, "reveal_refused", ("minute", 0))
    if window == "minute":
        return _(
            "Numbers shown in full are limited to %(limit)s a minute. The number stays masked; "
            "wait a minute and try again."
        ) % {"limit": limit}
    return _(
        "Numbers shown in full are limited to %(limit)s in 24 hours, and you have reached that. "
        "The number stays masked; try again tomorrow, or ask your office if your work needs more."
    ) % {"limit": limit}


def refused_response(request: HttpRequest, *, masked: str, back: str) -> HttpResponse:
    """HTTP 429 for a number not shown: the masked number and why, as a fragment for the htmx
    button that asked or as a small page."""
    context = {"masked": masked, "back": back, "message": refusal_text(request)}
    template = (
        "includes/reveal_refused.html"
        if request.headers.get("HX-Request") == "true"
        else "includes/reveal_refused_page.html"
    )
    return render(request, template, context, status=429)
