"""The portal's one way of writing amounts and dates (``mutualaid.formatting``), as filters.

The library is a template builtin (settings ``TEMPLATES``), so every page and PDF template of
every app has it without a ``{% load %}``; the portal package is the bottom layer, so any app
may use it.

    {{ roster.fee_total|money }}          ¥13,530.00
    {{ row.amount|money:"plain" }}        13,530.00   (under a 金额（元） heading)
    {{ claim.event_date|day }}            2026-12-04  (both languages)
    {{ issued_on|day:"long" }}            2026年12月4日 / 4 December 2026
    {{ entry.at|moment }}                 2026-12-04 14:05 in the portal's time zone

A value that is not an amount or a date is written as nothing, as Django's own filters do, so a
bad value blanks one figure rather than the whole page.
"""

from __future__ import annotations

from django import template

from mutualaid import formatting

register = template.Library()


@register.filter(name="money")
def money_filter(value: object, style: str = "") -> str:
    try:
        return formatting.money(value, symbol=style != "plain")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


@register.filter(name="day", expects_localtime=True)
def day_filter(value: object, style: str = "") -> str:
    try:
        return formatting.day(value, long=style == "long")  # type: ignore[arg-type]
    except TypeError:
        return ""


@register.filter(name="moment", expects_localtime=True)
def moment_filter(value: object, style: str = "") -> str:
    try:
        return formatting.moment(value, seconds=style == "seconds")  # type: ignore[arg-type]
    except TypeError:
        return ""
