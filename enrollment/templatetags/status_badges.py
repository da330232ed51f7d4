"""Status badges coloured by meaning, from the one mapping in ``enrollment.status``.

{% load status_badges %}
{% roster_badge roster %}            a roster's badge (listings and its page)
{% cover_badge enrollment %}         a piece of cover: in force, paid from a date, expired…
{{ enrollment|cover_label }}         the same in words only
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from enrollment import status

register = template.Library()


def _badge(badge: status.Badge, extra: str = "") -> str:
    classes = f"badge {badge.css} {extra}".strip()
    return format_html(
        '<span class="{}" data-status="{}">{}</span>', classes, badge.key, badge.label
    )


@register.simple_tag
def roster_badge(roster, extra: str = "") -> str:
    return _badge(status.roster_badge(roster), extra)


@register.simple_tag
def cover_badge(enrollment, extra: str = "") -> str:
    return _badge(status.enrollment_status(enrollment), extra)


@register.filter
def cover_label(enrollment) -> str:
    return status.enrollment_status(enrollment).label
