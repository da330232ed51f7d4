"""How amounts and dates are written for people: on pages, in PDFs and in workbooks' text.

One helper, so that a roster page, its payer panel and the fee notice print the same figure
(¥13,530.00) and a date reads the same on every page (2026-12-04). Amounts are Decimal from end
to end and rounded where the plans engine rounds money (``plans.engine.money``); a float is
refused rather than rounded, because it has already lost the cents it claims to hold.

Short dates (2026-12-04) are the same in both languages, so that a column of dates lines up and
reads the same in a screenshot sent to a colleague; the long form is for prose and documents:
2026年12月4日 in Chinese, 4 December 2026 in English.

Workbooks keep amounts and dates as numbers and dates with ``AMOUNT_FORMAT`` and
``DATE_FORMAT``, so that a clerk can add them up; the same two decimals and the same date order.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone, translation

from plans.engine.money import quantize_money

CURRENCY = "¥"
# Excel number formats for the same figures in exported workbooks.
AMOUNT_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"

# English month names are written out here, not taken from the locale, so that a document
# reads the same whichever machine prints it.
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """An amount as Decimal yuan rounded to the cent; a float or a non-number is an error."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"an amount must be Decimal, int or str, not {type(value).__name__}")
    try:
        amount = quantize_money(value if isinstance(value, Decimal) else str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def money(value: Decimal | int | str | None, *, symbol: bool = True, signed: bool = False) -> str:
    """¥13,530.00: two decimals, thousands separators, the sign before the currency (-¥5.00).

    ``symbol=False`` leaves out the ¥, for a column whose heading names the unit (金额（元）)
    and for prose that ends in 元. ``signed=True`` writes a plus sign on a positive amount, for
    an adjustment. None is written as nothing, so a template can say what an absent amount
    means.
    """
    if value is None:
        return ""
    amount = to_decimal(value)
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}{CURRENCY if symbol else ''}{abs(amount):,.2f}"


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    if isinstance(value, datetime.datetime):
        # A moment is the day it was where the portal runs, not the day in UTC.
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    raise TypeError(f"not a date: {value!r}")


def _chinese(language: str | None) -> bool:
    return (language or translation.get_language() or "zh-hans").lower().startswith("zh")


def day(
    value: datetime.date | datetime.datetime | None,
    long: bool = False,
    *,
    language: str | None = None,
) -> str:
    """2026-12-04; with ``long``, 2026年12月4日 in Chinese and 4 December 2026 in English.

    ``language`` defaults to the active one; a document that is always Chinese passes it.
    """
    if value is None:
        return ""
    date = _as_date(value)
    if not long:
        return date.isoformat()
    if _chinese(language):
        return f"{date.year}年{date.month}月{date.day}日"
    return f"{date.day} {_MONTHS_EN[date.month - 1]} {date.year}"


def period(
    start: datetime.date | None,
    end: datetime.date | None,
    long: bool = False,
    *,
    language: str | None = None,
) -> str:
    """A span of days: 2026-01-01 – 2026-12-31, or 2026年1月1日至2026年12月31日 in a document."""
    first = day(start, long, language=language)
    last = day(end, long, language=language)
    if long and _chinese(language):
        return f"{first}至{last}"
    return f"{first} – {last}"


def moment(value: datetime.datetime | None, *, seconds: bool = False) -> str:
    """2026-12-04 14:05 in the portal's time zone, the same in both languages."""
    if value is None:
        return ""
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"not a moment: {value!r}")
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
