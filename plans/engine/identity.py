"""Validation and masking helpers for personal and organisation identifiers.

The portal receives identity data from union clerks who type it into forms or paste it
from Excel sheets, so every helper here first repairs the usual input accidents
(full-width characters from Chinese input methods, stray spaces, numbers that Excel
converted to floats) before judging the value.  Error messages are written in Chinese
for those clerks: each one says what is wrong and what to do about it.

The module deliberately imports nothing from Django so that it can be used from forms,
import jobs, Celery tasks and tests alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "CREDIT_CODE_CHARSET",
    "CreditCodeError",
    "IdInfo",
    "IdNumberError",
    "age_on",
    "credit_code_check_char",
    "id_check_digit",
    "luhn_valid",
    "mask_bank_card",
    "mask_id_number",
    "mask_phone",
    "normalise_digits",
    "normalise_id_number",
    "normalise_phone",
    "phone_valid",
    "validate_credit_code",
    "validate_id_number",
]

# ---------------------------------------------------------------------------
# Shared normalisation
# ---------------------------------------------------------------------------

# Chinese input methods in full-width mode produce U+FF01..U+FF5E, which mirror printable
# ASCII U+0021..U+007E at a fixed offset.  Mapping the whole block (not just digits and
# letters) also repairs full-width "＋" and "－" typed inside phone numbers.
_FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}

# Characters that are invisible in a spreadsheet cell but survive copy and paste.  They are
# not covered by str.isspace(), so they are listed explicitly.
_INVISIBLE_CHARS = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def normalise_digits(text: str) -> str:
    """Convert full-width digits, letters and ASCII punctuation to their ASCII forms.

    Nothing else is changed, so callers can still decide for themselves how to treat
    case and whitespace.
    """
    return text.translate(_FULLWIDTH_TO_ASCII)


def _strip_all_whitespace(text: str) -> str:
    """Remove every whitespace character, including U+3000 and zero-width characters.

    Identifiers never contain spaces, so any whitespace (leading, trailing or in the middle,
    as when a clerk types a number in groups) is noise rather than data.
    """
    for char in _INVISIBLE_CHARS:
        text = text.replace(char, "")
    return "".join(text.split())


# ---------------------------------------------------------------------------
# Resident identity card number (GB 11643-1999)
# ---------------------------------------------------------------------------

ID_FORMAT = "id_format"
ID_CHECKSUM = "id_checksum"
ID_BIRTHDATE_INVALID = "id_birthdate_invalid"

_ID_DEFAULT_MESSAGES = {
    ID_FORMAT: (
        "身份证号码格式不正确，应为18位：前17位为数字，最后一位为数字或X。请核对后重新录入。"
    ),
    ID_CHECKSUM: (
        "身份证号码校验位不正确，说明号码中有数字录错。请对照身份证原件逐位核对后重新录入。"
    ),
    ID_BIRTHDATE_INVALID: (
        "身份证号码中的出生日期（第7-14位）无效。请对照身份证原件核对后重新录入。"
    ),
}

EXCEL_NUMBER_MESSAGE = (
    "身份证号码被当作数字保存（Excel中显示为1.10101E+17一类），后几位数字已经丢失或改变。"
    "请先将该列设置为文本格式，再重新录入完整的18位身份证号码。"
)

# Weights are 2^(17-i) mod 11 for positions i = 1..17; the check value is mapped through
# this table so that the weighted sum including the check character is 1 (mod 11).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"

# ASCII classes are spelled out because \d would also accept Arabic-Indic and other
# Unicode digits, which int() converts silently but which are not valid in an ID number.
_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS17 = re.compile(r"[0-9]{17}")

# A spreadsheet that stored the ID as a number exports it as "1.10101E+17" or as
# "110101194912310000.0"; either way trailing digits are gone and only re-entry helps.
_NUMERIC_EXPORT = re.compile(r"[0-9]+(\.[0-9]*)?E[+-]?[0-9]+|[0-9]+\.[0-9]+", re.IGNORECASE)

_ID_MIN_INT = 10**17
_ID_MAX_INT = 10**18 - 1
_EARLIEST_BIRTH_YEAR = 1900


class IdNumberError(ValueError):
    """Raised when an identity card number cannot be accepted.

    ``code`` is a stable machine-readable reason for form and import code to branch on,
    while ``str(err)`` is the Chinese message shown to the clerk.
    """

    CODES = frozenset({ID_FORMAT, ID_CHECKSUM, ID_BIRTHDATE_INVALID})

    code: str
    message: str

    def __init__(self, message: str | None = None, *, code: str) -> None:
        # An unknown code would silently fall through the callers' branches, so it is
        # rejected here where the mistake is made.
        if code not in self.CODES:
            raise ValueError(f"unknown IdNumberError code: {code!r}")
        self.code = code
        self.message = message if message is not None else _ID_DEFAULT_MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class IdInfo:
    """The facts that can be read from a validated identity card number."""

    number: str
    birth_date: date
    gender: str


def normalise_id_number(raw: object) -> str:
    """Clean up an identity card number without validating it.

    Whitespace is removed, full-width characters become ASCII and a lower-case check
    character "x" becomes "X", because those are the common typing accidents and they do
    not change the number.  Numbers that went through Excel as numeric cells are rejected
    here instead, because their last digits were already rounded away and no amount of
    cleaning can bring them back.
    """
    if raw is None:
        raise IdNumberError("身份证号码为空，请录入18位身份证号码。", code=ID_FORMAT)
    # bool is a subclass of int, but a True/False cell is never an ID number.
    if isinstance(raw, bool):
        raise IdNumberError(code=ID_FORMAT)
    if isinstance(raw, float):
        # A double carries only about 15-16 significant digits, so an 18-digit ID stored
        # as a float has always lost information, even when it looks whole.
        raise IdNumberError(EXCEL_NUMBER_MESSAGE, code=ID_FORMAT)
    if isinstance(raw, int):
        # An exact 18-digit integer is still intact (for example from a database column),
        # but anything shorter usually means Excel dropped leading or trailing digits.
        if _ID_MIN_INT <= raw <= _ID_MAX_INT:
            return str(raw)
        raise IdNumberError(EXCEL_NUMBER_MESSAGE, code=ID_FORMAT)
    if not isinstance(raw, str):
        raise IdNumberError(code=ID_FORMAT)

    text = normalise_digits(_strip_all_whitespace(raw))
    if _NUMERIC_EXPORT.fullmatch(text):
        raise IdNumberError(EXCEL_NUMBER_MESSAGE, code=ID_FORMAT)
    return text.replace("x", "X")


def id_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits of an ID number."""
    if not isinstance(first17, str) or not _DIGITS17.fullmatch(first17):
        raise IdNumberError("计算校验位需要17位数字。", code=ID_FORMAT)
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _parse_birth_date(number: str, today: date) -> date:
    """Read and sanity-check the YYYYMMDD birth date at positions 7-14."""
    text = number[6:14]
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    shown = f"{text[:4]}年{text[4:6]}月{text[6:]}日"
    try:
        birth = date(year, month, day)
    except ValueError:
        raise IdNumberError(
            f"身份证号码中的出生日期（第7-14位：{shown}）不是真实存在的日期。"
            "请对照身份证原件核对后重新录入。",
            code=ID_BIRTHDATE_INVALID,
        ) from None
    # Anyone born before 1900 is not a plausible union member, so such a date is far more
    # likely to be a typing error than a real person.
    if birth.year < _EARLIEST_BIRTH_YEAR:
        raise IdNumberError(
            f"身份证号码中的出生日期（第7-14位：{shown}）早于1900年，不可能是在职职工。"
            "请对照身份证原件核对后重新录入。",
            code=ID_BIRTHDATE_INVALID,
        )
    if birth > today:
        raise IdNumberError(
            f"身份证号码中的出生日期（第7-14位：{shown}）晚于今天。"
            "请对照身份证原件核对后重新录入。",
            code=ID_BIRTHDATE_INVALID,
        )
    return birth


def validate_id_number(raw: object, *, today: date | None = None) -> IdInfo:
    """Validate an 18-digit resident identity card number and return what it encodes.

    Checks run from the most to the least obvious problem (format, then birth date, then
    check digit) so that the clerk is told about the mistake that is easiest to see.
    The six-digit place code is not checked, because districts are renamed and merged and
    people keep carrying numbers with codes that no longer appear in current tables.
    """
    number = normalise_id_number(raw)
    if not _ID_PATTERN.fullmatch(number):
        if len(number) != 18:
            message = (
                f"身份证号码应为18位，当前录入的是{len(number)}位。"
                "请对照身份证原件核对，不要漏位或多位，然后重新录入。"
            )
        else:
            message = (
                "身份证号码只能包含数字，最后一位可以是X，不能含有其他字母或符号。"
                "请对照身份证原件核对后重新录入。"
            )
        raise IdNumberError(message, code=ID_FORMAT)

    birth = _parse_birth_date(number, today if today is not None else date.today())

    if id_check_digit(number[:17]) != number[17]:
        # The expected check character is deliberately not shown: the error is usually in
        # one of the first 17 digits, and "fixing" the last one would hide it.
        raise IdNumberError(code=ID_CHECKSUM)

    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, birth_date=birth, gender=gender)


def age_on(birth_date: date, on: date) -> int:
    """Return the age in completed years on the date ``on``.

    Comparing (month, day) tuples means a person born on 29 February only turns a year
    older on 1 March in non-leap years, which is the usual legal reading in China.
    """
    if on < birth_date:
        raise ValueError(f"date {on} is before birth date {birth_date}")
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


# ---------------------------------------------------------------------------
# Masking for display and logs
# ---------------------------------------------------------------------------


def _mask(value: str, head: int, tail: int, min_length: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters and star out the rest.

    Values of ``min_length`` characters or fewer are starred completely, because revealing
    head and tail of a short value would give away most or all of it.  The length is kept
    so that clerks can still spot a number with a missing digit.
    """
    if not value:
        return ""
    if len(value) <= min_length:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_id_number(value: str) -> str:
    """Mask an ID number as "2201**********1234", showing the first 4 and last 4 characters."""
    return _mask(value, head=4, tail=4, min_length=8)


def mask_bank_card(value: str) -> str:
    """Mask a bank card number, showing the first 4 and last 4 digits."""
    return _mask(value, head=4, tail=4, min_length=8)


def mask_phone(value: str) -> str:
    """Mask a mobile number as "138****5678", the format Chinese users are used to seeing.

    Values that are not 11 characters long still get the same 3 + 4 treatment, and values
    of 8 characters or fewer are starred completely, so at most 7 characters ever show.
    """
    return _mask(value, head=3, tail=4, min_length=8)


# ---------------------------------------------------------------------------
# Bank card and mobile phone
# ---------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """Return True if ``digits`` passes the Luhn check used by bank card numbers.

    Only ASCII digits are accepted; callers should strip spaces before calling, so that a
    value which would be stored with separators is not reported as valid.
    """
    if not isinstance(digits, str) or not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    # Every second digit counted from the right (the check digit is position 0) is doubled.
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Dash-like characters clerks use to group phone numbers: ASCII hyphen, Unicode hyphens,
# figure dash, en and em dashes and the minus sign.  Full-width "－" is mapped to "-" first.
_PHONE_SEPARATORS = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014\u2212]")
_PHONE_EXCEL_FRACTION = re.compile(r"([0-9]+)\.0+")
_PHONE_COUNTRY_PREFIX = re.compile(r"(?:\+86|0086|86)([0-9]{11})")
_MOBILE_PATTERN = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(raw: object) -> str:
    """Turn a phone number from a form or spreadsheet into a plain string of digits.

    Excel numeric cells arrive as ints or whole floats (13812345678.0); unlike ID numbers
    an 11-digit phone number fits exactly in a float, so it is safe to convert back.  The
    result is not validated; use ``phone_valid`` for that.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise ValueError("手机号码格式不正确，请录入11位手机号码。")
    if isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            raise ValueError("手机号码不是整数，请将该列设置为文本格式后重新录入11位手机号码。")
        return str(int(raw))
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str):
        raise ValueError("手机号码格式不正确，请录入11位手机号码。")

    text = normalise_digits(_strip_all_whitespace(raw))
    text = _PHONE_SEPARATORS.sub("", text)
    # A CSV exported from a numeric cell keeps the ".0"; dropping it loses nothing.
    fraction = _PHONE_EXCEL_FRACTION.fullmatch(text)
    if fraction:
        text = fraction.group(1)
    # The country code is only removed when exactly a mobile number follows it, so that
    # other numbers that happen to start with 86 are left untouched.
    prefixed = _PHONE_COUNTRY_PREFIX.fullmatch(text)
    if prefixed:
        text = prefixed.group(1)
    return text


def phone_valid(phone: str) -> bool:
    """Return True for a mainland China mobile number: 11 digits, "1" then 3-9."""
    return isinstance(phone, str) and _MOBILE_PATTERN.fullmatch(phone) is not None


# ---------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)
# ---------------------------------------------------------------------------

# The standard leaves out I, O, Z, S and V because they are easily confused with 1, 0, 2,
# 5 and U; a character's value in the checksum is its index in this string.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {char: index for index, char in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CONFUSABLE = frozenset("IOZSV")


class CreditCodeError(ValueError):
    """Raised when a unified social credit code cannot be accepted.

    ``code`` is "credit_code_format" or "credit_code_checksum" so that callers can branch
    on it; ``str(err)`` is the Chinese message for the clerk.
    """

    code: str
    message: str

    def __init__(self, message: str, *, code: str = "credit_code_format") -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _credit_bad_chars_message(bad: list[str]) -> str:
    """Explain which characters are not allowed, pointing out the usual confusions."""
    listed = "、".join(dict.fromkeys(bad))
    message = f"统一社会信用代码中含有不允许的字符：{listed}。"
    if any(char in _CREDIT_CONFUSABLE for char in bad):
        message += "代码中不使用字母I、O、Z、S、V，请检查是否应为数字1、0、2、5或字母U。"
    return message + "请对照营业执照或登记证书核对后重新录入。"


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise CreditCodeError("计算校验位需要统一社会信用代码的前17位。")
    bad = [char for char in first17 if char not in _CREDIT_VALUES]
    if bad:
        raise CreditCodeError(_credit_bad_chars_message(bad))
    total = sum(
        _CREDIT_VALUES[char] * weight for char, weight in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    check = 31 - total % 31
    return CREDIT_CODE_CHARSET[0 if check == 31 else check]


def validate_credit_code(raw: str) -> str:
    """Validate a unified social credit code and return it normalised to upper case.

    Positions 1 (registration department) and 2 (organisation type) are not checked
    against code lists, because those lists have been extended since the standard was
    published; the checksum still catches almost every typing error in them.
    """
    if not isinstance(raw, str):
        raise CreditCodeError("统一社会信用代码应为18位的数字和字母，请录入后重试。")
    code = normalise_digits(_strip_all_whitespace(raw)).upper()
    if len(code) != 18:
        raise CreditCodeError(
            f"统一社会信用代码应为18位，当前录入的是{len(code)}位。"
            "请对照营业执照或登记证书核对后重新录入。"
        )
    bad = [char for char in code if char not in _CREDIT_VALUES]
    if bad:
        raise CreditCodeError(_credit_bad_chars_message(bad))
    if not code[2:8].isdigit():
        raise CreditCodeError(
            "统一社会信用代码第3-8位是登记管理机关的行政区划码，只能是数字。"
            "请对照营业执照或登记证书核对后重新录入。"
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise CreditCodeError(
            "统一社会信用代码校验位不正确，说明代码中有字符录错。"
            "请对照营业执照或登记证书逐位核对后重新录入。",
            code="credit_code_checksum",
        )
    return code
