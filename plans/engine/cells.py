"""Reading the values of roster cells: forgiving about form, strict about content.

A cell arrives as the spreadsheet reader gives it: ``None`` or ``""`` when empty, ``str``,
``float`` (every Excel number, even a whole one, unless the reader gives an ``int``), ``bool``,
``datetime.date``/``datetime.datetime`` for date-formatted cells. Each helper here accepts all
of them, repairs the usual typing accidents (spaces, full-width characters, ``2.0`` for 2) and
returns either the value or a ``CellError`` whose message tells the clerk what to type instead.

No Django here: the roster check runs in a worker, a command and a benchmark alike.
"""

from __future__ import annotations

import datetime
import math
import re

from plans.engine.identity import normalise_digits

__all__ = [
    "CellError",
    "cell_is_empty",
    "cell_text",
    "parse_date",
    "parse_gender",
    "parse_shares",
    "parse_yes_no",
    "squeeze",
]


class CellError(ValueError):
    """A value that cannot be read; ``str(err)`` is the Chinese message for the clerk."""


def cell_is_empty(value: object) -> bool:
    """True for a cell the clerk sees as blank: nothing, or only spaces."""
    return value is None or (type(value) is str and not value.strip())


def cell_text(value: object) -> str:
    """The cell as trimmed text; a whole number shows without ``.0``, as Excel shows it."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def squeeze(value: object) -> str:
    """Text with every space removed and full-width characters made ASCII, for values that
    never contain spaces (codes, choices): "正式 职工" and "正式职工" are the same answer."""
    return normalise_digits("".join(cell_text(value).split()))


# --- yes / no ------------------------------------------------------------------------------

_YES = ("是", "Y", "YES", "有", "√", "✓", "✔", "1", "TRUE", "对")
_NO = ("否", "N", "NO", "无", "没有", "×", "✗", "✘", "0", "FALSE", "不是")
_YES_NO = {token: True for token in _YES} | {token: False for token in _NO}


def parse_yes_no(value: object) -> bool | None:
    """是/否 and its usual spellings (Y/N, 有/无, √/×, 1/0, TRUE/FALSE, a check-box cell).

    Returns None for a blank cell and raises CellError for anything else, so the caller
    decides what a blank means (required, or a default).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise CellError(f"“{cell_text(value)}”不是有效的填写，应填“是”或“否”。")
    text = squeeze(value).upper()
    if not text:
        return None
    answer = _YES_NO.get(text)
    if answer is None:
        raise CellError(f"“{cell_text(value)}”不是有效的填写，应填“是”或“否”。")
    return answer


# --- gender --------------------------------------------------------------------------------

_GENDERS = {"男": "M", "女": "F", "M": "M", "F": "F", "男性": "M", "女性": "F"}


def parse_gender(value: object) -> str | None:
    """男/女 (also M/F) as "M"/"F"; None for a blank cell; CellError otherwise."""
    text = squeeze(value).upper()
    if not text:
        return None
    gender = _GENDERS.get(text)
    if gender is None:
        raise CellError(f"性别“{cell_text(value)}”无法识别，应填“男”或“女”。")
    return gender


# --- shares --------------------------------------------------------------------------------

_WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def parse_shares(value: object) -> int | None:
    """A whole number of shares: 2, 2.0 and "2" are all 2. None for a blank cell."""
    if isinstance(value, bool):
        raise CellError("份数应填写整数，例如 1。")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise CellError(f"份数“{cell_text(value)}”不是整数，请填写整数，例如 1。")
    text = squeeze(value)
    if not text:
        return None
    if _WHOLE.fullmatch(text):
        return int(float(text)) if "." in text else int(text)
    raise CellError(f"份数“{cell_text(value)}”不是整数，请用阿拉伯数字填写整数，例如 1。")


# --- dates ---------------------------------------------------------------------------------

# 1990-01-02, 1990/1/2, 1990.1.2 and 1990年1月2日, optionally followed by a time of day that
# a date-time cell pasted as text carries; and the compact 19900102.
_DATE_SEPARATED = re.compile(
    r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[ T]?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_UNREADABLE_DATE = (
    "出生日期“{text}”无法识别。请按日期填写，例如 1990-01-02、1990/1/2、19900102 或 1990年1月2日。"
)


def parse_date(value: object) -> datetime.date | None:
    """A date cell, or text in one of the accepted forms. None for a blank cell.

    A plain number (other than 8 digits such as 19900102) is refused rather than read as an
    Excel serial day: the clerk sees a number in that cell, not a date, so that is what to fix.
    """
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise CellError(_UNREADABLE_DATE.format(text=cell_text(value)))
    text = normalise_digits(cell_text(value))
    if not text:
        return None
    match = _DATE_SEPARATED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if match is None:
        raise CellError(_UNREADABLE_DATE.format(text=cell_text(value)))
    year, month, day = (int(part) for part in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise CellError(
            f"出生日期“{cell_text(value)}”不是真实存在的日期。请核对后按日期重新填写，"
            "例如 1990-01-02、1990/1/2、19900102 或 1990年1月2日。"
        ) from None
