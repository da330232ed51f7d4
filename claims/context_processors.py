"""What every page's template may use from the claims app."""

from __future__ import annotations

import functools

from django.http import HttpRequest


def holiday_notice(request: HttpRequest) -> dict[str, object]:
    """``holiday_notice``: the reminder to enter a year's holidays (``claims.holidays``), or
    None. Given as a callable so it costs nothing on the pages that do not show it (only the
    home page does, through ``includes/holiday_notice.html``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from claims.holidays import notice_for

    return {"holiday_notice": functools.partial(notice_for, user)}
