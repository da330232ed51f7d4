"""Tests for the identity validation helpers in plans.engine.identity.

Valid ID numbers are built with id_check_digit rather than copied from real people, so
that no personal data lives in the test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plans.engine.identity import (
    CREDIT_CODE_CHARSET,
    CreditCodeError,
    IdInfo,
    IdNumberError,
    age_on,
    credit_code_check_char,
    id_check_digit,
    luhn_valid,
    mask_bank_card,
    mask_id_number,
    mask_phone,
    normalise_digits,
    normalise_id_number,
    normalise_phone,
    phone_valid,
    validate_credit_code,
    validate_id_number,
)

# A fixed "today" keeps the future-date tests independent of when the suite runs.
TODAY = date(2024, 6, 15)

SAMPLE_ID = "11010519491231002X"


def build_id(first17: str) -> str:
    """Append the correct check character so only the property under test can fail."""
    return first17 + id_check_digit(first17)


def to_fullwidth(text: str) -> str:
    """Turn ASCII digits and letters into their full-width forms, as a Chinese IME would."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def error_code(raw: object, **kwargs: date) -> str:
    """Return the IdNumberError code raised for ``raw``, failing if it validates."""
    with pytest.raises(IdNumberError) as info:
        validate_id_number(raw, **kwargs)
    return info.value.code


# ---------------------------------------------------------------------------
# ID numbers: known examples
# ---------------------------------------------------------------------------


def test_famous_sample_is_valid() -> None:
    info = validate_id_number(SAMPLE_ID, today=TODAY)
    assert info == IdInfo(number=SAMPLE_ID, birth_date=date(1949, 12, 31), gender="F")


def test_check_digit_of_sample() -> None:
    assert id_check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("first17", "gender"),
    [
        ("22010219900101123", "M"),
        ("44030519851120004", "F"),
        ("51010720000229007", "M"),
    ],
)
def test_constructed_ids_validate(first17: str, gender: str) -> None:
    number = build_id(first17)
    info = validate_id_number(number, today=TODAY)
    assert info.number == number
    assert info.gender == gender


def test_birth_date_is_read_from_positions_7_to_14() -> None:
    info = validate_id_number(build_id("51010720000229007"), today=TODAY)
    assert info.birth_date == date(2000, 2, 29)


def test_wrong_check_digit() -> None:
    assert error_code("110105194912310021", today=TODAY) == "id_checksum"


def test_checksum_message_does_not_leak_expected_digit() -> None:
    # Showing the right check digit would tempt clerks to "fix" the wrong position.
    with pytest.raises(IdNumberError) as info:
        validate_id_number("110105194912310021", today=TODAY)
    assert "校验" in str(info.value)
    assert "X" not in str(info.value)


@pytest.mark.parametrize(
    "first17",
    [
        "11010519900230001",  # 30 February does not exist.
        "11010519901301001",  # There is no thirteenth month.
        "11010519900100001",  # Day zero.
        "11010518991231001",  # Before 1900.
        "11010520240616001",  # One day after TODAY.
    ],
)
def test_invalid_birth_dates(first17: str) -> None:
    assert error_code(build_id(first17), today=TODAY) == "id_birthdate_invalid"


def test_birth_date_equal_to_today_is_accepted() -> None:
    info = validate_id_number(build_id("11010520240615001"), today=TODAY)
    assert info.birth_date == TODAY


def test_default_today_rejects_far_future() -> None:
    assert error_code(build_id("11010530000101001")) == "id_birthdate_invalid"


def test_birth_date_checked_before_checksum() -> None:
    # Both the date and the check digit are wrong; the date is the clearer message.
    number = build_id("11010519900230001")
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    assert error_code(wrong, today=TODAY) == "id_birthdate_invalid"


def test_format_checked_before_birth_date() -> None:
    assert error_code("1101051990023000A1", today=TODAY) == "id_format"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002",  # 17 characters.
        "11010519491231002X1",  # 19 characters.
        "1101051949123100AX",  # A letter where a digit belongs.
        "X10105194912310021",  # X anywhere but last.
        "11010519491231002Y",
        "",
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits to Python, not to GB 11643.
    ],
)
def test_format_errors(raw: str) -> None:
    assert error_code(raw, today=TODAY) == "id_format"


def test_length_message_mentions_count() -> None:
    with pytest.raises(IdNumberError) as info:
        validate_id_number("11010519491231002", today=TODAY)
    assert "17位" in str(info.value)


@pytest.mark.parametrize("raw", [None, True, ["11010519491231002X"], b"11010519491231002X"])
def test_unsupported_types_are_format_errors(raw: object) -> None:
    assert error_code(raw, today=TODAY) == "id_format"


# ---------------------------------------------------------------------------
# ID numbers: normalisation and Excel damage
# ---------------------------------------------------------------------------


def test_fullwidth_digits_and_lowercase_x() -> None:
    raw = "１１０１０５１９４９１２３１００２ｘ"
    assert normalise_id_number(raw) == SAMPLE_ID
    assert validate_id_number(raw, today=TODAY).number == SAMPLE_ID


def test_fullwidth_upper_x_and_ascii_lower_x() -> None:
    assert normalise_id_number("11010519491231002Ｘ") == SAMPLE_ID
    assert normalise_id_number("11010519491231002x") == SAMPLE_ID


def test_whitespace_of_all_kinds_is_removed() -> None:
    raw = "\u3000110105 1949\t1231\n002X\r\n\u00a0\ufeff"
    assert normalise_id_number(raw) == SAMPLE_ID


def test_normalise_does_not_validate() -> None:
    assert normalise_id_number("abc") == "abc"


def test_intact_18_digit_int_is_accepted() -> None:
    number = build_id("11010519491231001")
    assert number[-1] != "X"
    assert normalise_id_number(int(number)) == number
    assert validate_id_number(int(number), today=TODAY).number == number


@pytest.mark.parametrize(
    "raw",
    [
        1.10101e17,
        110105194912310021.0,
        11010519491231,
        -110105194912310021,
        "1.10101E+17",
        "1.10101e17",
        "１．１０１０１Ｅ＋１７",
        "110105194912310000.0",
    ],
)
def test_excel_numbers_ask_for_text_format(raw: object) -> None:
    with pytest.raises(IdNumberError) as info:
        normalise_id_number(raw)
    assert info.value.code == "id_format"
    assert "文本" in str(info.value)
    assert "设置为文本格式" in str(info.value)


def test_error_is_a_value_error_with_default_message() -> None:
    err = IdNumberError(code="id_checksum")
    assert isinstance(err, ValueError)
    assert err.code == "id_checksum"
    assert str(err)


def test_error_rejects_unknown_code() -> None:
    with pytest.raises(ValueError, match="unknown"):
        IdNumberError("x", code="nonsense")


def test_id_check_digit_rejects_bad_input() -> None:
    with pytest.raises(IdNumberError):
        id_check_digit("1101051949123100")
    with pytest.raises(IdNumberError):
        id_check_digit("1101051949123100A")


def test_normalise_digits() -> None:
    assert normalise_digits("０１２３４５６７８９") == "0123456789"
    assert normalise_digits("ＡＢｘＹ") == "ABxY"
    assert normalise_digits("中文 abc") == "中文 abc"


# ---------------------------------------------------------------------------
# ID numbers: properties
# ---------------------------------------------------------------------------

birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
areas = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}")
sequences = st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}")


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    """Build a valid ID from any area code, birth date in range and sequence number."""
    first17 = draw(areas) + draw(birth_dates).strftime("%Y%m%d") + draw(sequences)
    return build_id(first17)


@given(area=areas, birth=birth_dates, seq=sequences)
def test_any_constructed_id_validates_and_round_trips(area: str, birth: date, seq: str) -> None:
    number = build_id(area + birth.strftime("%Y%m%d") + seq)
    info = validate_id_number(number)
    assert info.number == number
    assert info.birth_date == birth
    assert info.gender == ("M" if int(seq[-1]) % 2 else "F")


@given(number=valid_ids())
def test_fullwidth_and_lowercase_variants_validate_to_same_number(number: str) -> None:
    variant = to_fullwidth(number.replace("X", "x"))
    assert variant != number
    assert validate_id_number(variant).number == number


@given(number=valid_ids(), data=st.data())
def test_any_single_character_change_is_rejected(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=17))
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdNumberError):
        validate_id_number(changed)


# ---------------------------------------------------------------------------
# Age
# ---------------------------------------------------------------------------


def test_age_at_birthday_boundary() -> None:
    birth = date(1990, 6, 15)
    assert age_on(birth, date(2024, 6, 14)) == 33
    assert age_on(birth, date(2024, 6, 15)) == 34
    assert age_on(birth, birth) == 0


def test_age_for_leap_day_birth() -> None:
    birth = date(2000, 2, 29)
    assert age_on(birth, date(2023, 2, 28)) == 22
    assert age_on(birth, date(2023, 3, 1)) == 23
    assert age_on(birth, date(2024, 2, 28)) == 23
    assert age_on(birth, date(2024, 2, 29)) == 24


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


def birthday_in(year: int, birth: date) -> date:
    """Return the birthday in ``year``, moving 29 February to 1 March in common years."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


@given(birth=birth_dates, on=st.dates(max_value=date(2200, 12, 31)))
def test_age_counts_birthdays_passed(birth: date, on: date) -> None:
    if on < birth:
        return
    expected = on.year - birth.year - (birthday_in(on.year, birth) > on)
    assert age_on(birth, on) == expected


# ---------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------


def test_mask_examples() -> None:
    assert mask_id_number("220102199001011234") == "2201**********1234"
    assert mask_bank_card("6222021234567890123") == "6222***********0123"
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("mask", [mask_id_number, mask_bank_card, mask_phone])
def test_mask_short_and_empty(mask: Callable[[str], str]) -> None:
    assert mask("") == ""
    assert mask("12345678") == "********"
    assert mask("1") == "*"


@pytest.mark.parametrize("mask", [mask_id_number, mask_bank_card, mask_phone])
@given(value=st.text(alphabet=st.characters(blacklist_characters="*"), max_size=40))
def test_mask_keeps_length_and_reveals_at_most_eight(
    mask: Callable[[str], str], value: str
) -> None:
    masked = mask(value)
    assert len(masked) == len(value)
    revealed = [i for i, char in enumerate(masked) if char != "*"]
    assert len(revealed) <= 8
    assert all(masked[i] == value[i] for i in revealed)
    if len(value) <= 8:
        assert not revealed


# ---------------------------------------------------------------------------
# Bank cards
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("0", True),
        ("", False),
        ("4111 1111 1111 1111", False),
        ("41111111111111a1", False),
        ("４１１１１１１１１１１１１１１１", False),
    ],
)
def test_luhn(digits: str, expected: bool) -> None:
    assert luhn_valid(digits) is expected


# ---------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (13812345678.0, "13812345678"),
        (13812345678, "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("＋８６　１３８－１２３４－５６７８", "13812345678"),
        ("138 1234 5678\n", "13812345678"),
        ("13812345678.0", "13812345678"),
        ("861234", "861234"),
        (None, ""),
    ],
)
def test_normalise_phone(raw: object, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", [13812345678.5, float("nan"), float("inf"), True, object()])
def test_normalise_phone_rejects_unusable_values(raw: object) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13812345678", True),
        ("19912345678", True),
        ("23812345678", False),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("1381234567a", False),
        ("", False),
    ],
)
def test_phone_valid(phone: str, expected: bool) -> None:
    assert phone_valid(phone) is expected


# ---------------------------------------------------------------------------
# Unified social credit codes
# ---------------------------------------------------------------------------

REAL_CREDIT_CODE = "91350100M000100Y43"


def test_known_credit_code_check_char() -> None:
    assert credit_code_check_char(REAL_CREDIT_CODE[:17]) == "3"
    assert validate_credit_code(REAL_CREDIT_CODE) == REAL_CREDIT_CODE


def test_credit_code_is_normalised() -> None:
    raw = "  91350100m000100y43\u3000"
    assert validate_credit_code(raw) == REAL_CREDIT_CODE
    assert validate_credit_code(to_fullwidth(REAL_CREDIT_CODE)) == REAL_CREDIT_CODE


@pytest.mark.parametrize(
    "body",
    ["91110000600037341", "12100000400000624", "51440300MJL123456", "Y1000000000000000"],
)
def test_constructed_credit_codes_validate(body: str) -> None:
    code = body + credit_code_check_char(body)
    assert validate_credit_code(code) == code


def test_check_value_31_maps_to_zero() -> None:
    # The all-zero body sums to 0, so 31 - 0 = 31, which the standard maps to "0".
    assert credit_code_check_char("0" * 17) == "0"


def test_wrong_credit_check_char() -> None:
    with pytest.raises(CreditCodeError) as info:
        validate_credit_code("91350100M000100Y44")
    assert info.value.code == "credit_code_checksum"
    assert "校验" in str(info.value)


@pytest.mark.parametrize("char", list("IOZSV"))
def test_confusable_letters_are_rejected(char: str) -> None:
    with pytest.raises(CreditCodeError) as info:
        validate_credit_code("91350100M000100" + char + "43")
    assert char in str(info.value)
    assert info.value.code == "credit_code_format"


@pytest.mark.parametrize(
    "raw",
    [
        "91350100M000100Y4",  # 17 characters.
        "91350100M000100Y431",  # 19 characters.
        "9135010-M000100Y43",  # Punctuation.
        "913A0100M000100Y43",  # Letter in the administrative area code.
        "",
    ],
)
def test_credit_code_format_errors(raw: str) -> None:
    with pytest.raises(CreditCodeError):
        validate_credit_code(raw)


def test_credit_check_char_rejects_bad_body() -> None:
    with pytest.raises(CreditCodeError):
        credit_code_check_char("91350100M000100Y")
    with pytest.raises(CreditCodeError):
        credit_code_check_char("91350100M000100I4")


credit_bodies = st.builds(
    lambda head, area, tail: head + area + tail,
    st.text(alphabet=CREDIT_CODE_CHARSET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CREDIT_CODE_CHARSET, min_size=9, max_size=9),
)


@given(body=credit_bodies, data=st.data())
def test_credit_code_single_character_change_is_rejected(body: str, data: st.DataObject) -> None:
    code = body + credit_code_check_char(body)
    assert validate_credit_code(code) == code
    position = data.draw(st.integers(min_value=0, max_value=17))
    others = [c for c in CREDIT_CODE_CHARSET if c != code[position]]
    replacement = data.draw(st.sampled_from(others))
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(CreditCodeError):
        validate_credit_code(changed)
