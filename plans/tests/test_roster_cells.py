"""Property-based tests for reading roster cells: every accepted form of a value reads the same.

The cell helpers (plans.engine.cells) and the row check's fast paths are tested against the
identity module, which stays the judge of ID numbers, phones and bank cards.
"""

from __future__ import annotations

import datetime
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from plans.engine.cells import _YES_NO, CellError, parse_date, parse_shares, parse_yes_no, squeeze
from plans.engine.identity import (
    IdNumberError,
    id_check_digit,
    luhn_valid,
    normalise_phone,
    validate_id_number,
)
from plans.engine.roster_check import KEYS, RowChecker, _luhn_quick, _quick_id
from plans.tests.roster_builders import COVERAGE_START, TODAY, plan_rules

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
RULES = plan_rules()
CHECKER = RowChecker(
    rules=RULES,
    coverage_start=COVERAGE_START,
    today=TODAY,
    columns={key: (index, key) for index, key in enumerate(KEYS)},
)

births = st.dates(min_value=datetime.date(1966, 1, 2), max_value=datetime.date(2009, 12, 31))
serials = st.integers(min_value=0, max_value=999)


def id_for(birth: datetime.date, serial: int) -> str:
    first17 = f"110105{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


def row(**values):
    """Check one row given by key; the other cells are a valid person's."""
    cells = {
        "name": "王五",
        "id_number": id_for(datetime.date(1985, 6, 15), 123),
        "phone": "13912345678",
        "employment_type": "正式职工",
        "medical_insurance": "是",
    }
    cells.update(values)
    findings = []
    result, _ = CHECKER.check(7, tuple(cells.get(key) for key in KEYS), findings)
    return result, findings


@given(births, serials, st.sampled_from(["", " ", "\u3000", "\t"]), st.booleans(), st.booleans())
def test_id_typing_accidents_are_normalised(birth, serial, space, full_width, lower):
    number = id_for(birth, serial)
    typed = number.translate(FULL_WIDTH) if full_width else number
    if lower:
        typed = typed.lower()
    typed = space + typed[:6] + space + typed[6:] + space
    result, findings = row(id_number=typed)
    assert findings == []
    assert result.id_number == number
    assert result.birth_date == birth
    assert result.gender == ("M" if serial % 2 else "F")


@given(st.text(alphabet="0123456789Xx", min_size=16, max_size=19))
def test_quick_id_path_agrees_with_validate_id_number(text):
    normal = text.upper()
    try:
        info = validate_id_number(normal, today=TODAY)
        expected = (info.birth_date, info.gender)
    except IdNumberError:
        expected = None
    if len(normal) == 18 and "X" not in normal[:17]:
        assert _quick_id(normal, TODAY) == expected


@given(births, serials)
def test_quick_id_path_agrees_on_valid_numbers(birth, serial):
    number = id_for(birth, serial)
    info = validate_id_number(number, today=TODAY)
    assert _quick_id(number, TODAY) == (info.birth_date, info.gender)


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_quick_luhn_agrees_with_identity(digits):
    assert _luhn_quick(digits) == luhn_valid(digits)


@given(st.integers(min_value=13_000_000_000, max_value=19_999_999_999))
def test_phone_numeric_and_text_cells_agree(number):
    as_float, _ = row(phone=float(number))
    as_int, _ = row(phone=number)
    as_text, text_findings = row(phone=str(number))
    spaced, _ = row(phone=f" {str(number)[:3]} {str(number)[3:7]}-{str(number)[7:]} ")
    assert as_float.phone == as_int.phone == as_text.phone == spaced.phone == str(number)
    assert [f.code for f in text_findings] == (
        [] if str(number)[1] in "3456789" else ["phone_invalid"]
    )
    assert normalise_phone(float(number)) == str(number)


@given(st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_dates_round_trip_in_every_accepted_form(day):
    y, m, d = day.year, day.month, day.day
    forms = [
        day,
        datetime.datetime(y, m, d),
        f"{day:%Y-%m-%d}",
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{day:%Y/%m/%d}",
        f"{day:%Y%m%d}",
        f"{y}年{m}月{d}日",
        f"{day:%Y年%m月%d日}",
        f"{y}.{m}.{d}",
        f" {day:%Y-%m-%d} ",
        f"{day:%Y-%m-%d} 00:00:00",
        f"{y}年{m}月{d}日".translate(FULL_WIDTH),
        int(f"{day:%Y%m%d}"),
        float(f"{day:%Y%m%d}"),
    ]
    for form in forms:
        assert parse_date(form) == day, form


@given(st.text(max_size=12))
def test_unreadable_dates_raise_with_a_message(text):
    try:
        parsed = parse_date(text)
    except CellError as exc:
        assert "出生日期" in str(exc)
    else:
        assert parsed is None or isinstance(parsed, datetime.date)


@given(st.integers(min_value=-5, max_value=10_000))
def test_shares_whole_number_forms(number):
    forms = [
        number,
        float(number),
        str(number),
        f"{number}.0",
        f" {number} ",
        str(number).translate(FULL_WIDTH),
    ]
    for form in forms:
        assert parse_shares(form) == number, form


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_shares_that_are_not_whole_are_refused(value):
    assume(not (math.isfinite(value) and value.is_integer()))
    with pytest.raises(CellError):
        parse_shares(value)


@pytest.mark.parametrize("value", ["两", "1.5", "一", "1份", True])
def test_shares_words_are_refused(value):
    with pytest.raises(CellError):
        parse_shares(value)


YES = ["是", "Y", "y", "yes", "有", "√", "1", "TRUE", "true", "Ｙ", 1, 1.0, True]
NO = ["否", "N", "n", "no", "无", "×", "0", "FALSE", "false", "０", 0, 0.0, False]
ANSWERS = [(value, True) for value in YES] + [(value, False) for value in NO]


@given(st.sampled_from(ANSWERS), st.sampled_from(["", " ", "\u3000", "\n"]))
def test_yes_no_forms(answer, space):
    value, expected = answer
    typed = f"{space}{value}{space}" if isinstance(value, str) else value
    assert parse_yes_no(typed) is expected


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_blank_yes_no_is_none(blank):
    assert parse_yes_no(blank) is None


@given(st.text(min_size=1, max_size=5))
@settings(max_examples=300)
def test_other_yes_no_answers_are_refused_with_the_expected_hint(text):
    assume(squeeze(text) and squeeze(text).upper() not in _YES_NO)
    with pytest.raises(CellError, match="应填“是”或“否”"):
        parse_yes_no(text)
