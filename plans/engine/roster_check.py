"""Checking the rows of a roster (CONTRACTS §2, row and unit level).

``RowChecker.check`` is the hot loop of a roster check: everything that is the same for every
row (age bounds as birth-date bounds, allowed values, fees per share) is computed once when the
checker is made, and the usual, well-formed values take fast paths that the tests hold equal to
the identity module's validators. The checks across rows (duplicates, uniform shares, shares
already held) and the unit's participation rule follow.

No Django here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from operator import mul

from plans.engine.cells import (
    CellError,
    cell_text,
    parse_date,
    parse_gender,
    parse_shares,
    parse_yes_no,
    squeeze,
)
from plans.engine.columns import COLUMNS
from plans.engine.findings import ERROR, WARNING, Finding
from plans.engine.identity import (
    EXCEL_NUMBER_MESSAGE,
    IdNumberError,
    age_on,
    normalise_digits,
    normalise_id_number,
    normalise_phone,
    phone_valid,
    validate_id_number,
)
from plans.engine.money import ZERO, quantize_money
from plans.engine.rules import EMPLOYMENT_TYPES, RETIRED, PlanRules

NAME_MAX_LENGTH = 30

# The order in which a row's cells are taken from the sheet (the template's column order);
# the row check indexes the cells tuple with these positions.
KEYS = tuple(column.key for column in COLUMNS)
_NAME = KEYS.index("name")
_ID = KEYS.index("id_number")
_GENDER = KEYS.index("gender")
_BIRTH = KEYS.index("birth_date")
_PHONE = KEYS.index("phone")
_EMPLOYMENT = KEYS.index("employment_type")
_OCCUPATION = KEYS.index("occupation")
_MEDICAL = KEYS.index("medical_insurance")
_SHARES = KEYS.index("shares")
_HIGH_RISK = KEYS.index("high_risk")
_BANK = KEYS.index("bank_card")
_NOTE = KEYS.index("note")

_GENDER_WORDS = {"M": "男", "F": "女"}
_ID_READY = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_HAS_DIGIT = re.compile(r"\d")
_EMPLOYMENT_TYPES = frozenset(EMPLOYMENT_TYPES)
_YES_NO_FAST = {"是": True, "否": False}

# A fast path for the usual, well-formed ID number and bank card. Anything it does not accept
# goes to identity.validate_id_number / luhn_valid, which remain the judges and give the
# messages; tests check that both paths agree.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHT_OFFSET = ord("0") * sum(_ID_WEIGHTS)
_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH_YEAR = 1900
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def _quick_id(number: str, today: date) -> tuple[date, str] | None:
    """Birth date and gender of an ID that already matches ``_ID_READY`` and is valid in every
    respect, else None."""
    raw = number.encode("ascii")
    if _ID_CHECK_CHARS[(sum(map(mul, raw, _ID_WEIGHTS)) - _ID_WEIGHT_OFFSET) % 11] != number[17]:
        return None
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if birth.year < _EARLIEST_BIRTH_YEAR or birth > today:
        return None
    return birth, ("M" if raw[16] % 2 else "F")


def _luhn_quick(digits: str) -> bool:
    """Luhn check of a string of ASCII digits: every second digit from the right doubled."""
    raw = digits.encode("ascii")[::-1]
    total = sum(raw[0::2]) + sum(raw[1::2].translate(_LUHN_DOUBLED)) - ord("0") * len(raw)
    return total % 10 == 0


@dataclass(slots=True, eq=False)
class RosterRow:
    """One non-empty data row, normalised. Fields hold what could be read even when the row
    has errors; ``fee`` is 0 and ``ok`` False for a row with any error-level finding."""

    row: int
    name: str
    id_number: str
    birth_date: date | None
    gender: str | None
    phone: str
    employment_type: str
    occupation: str
    medical_insurance: bool | None
    shares: int | None
    high_risk: bool
    bank_card: str
    note: str
    fee: Decimal
    ok: bool


def _latest_birth(on: date, age: int) -> date:
    """The last birth date of someone who is at least ``age`` full years old on ``on``."""
    return _birth_bound(on, lambda born: born <= on and age_on(born, on) >= age, latest=True)


def _earliest_birth(on: date, age: int) -> date:
    """The first birth date of someone who is at most ``age`` full years old on ``on``."""
    return _birth_bound(on, lambda born: born > on or age_on(born, on) <= age, latest=False)


def _birth_bound(on: date, holds: Callable[[date], bool], *, latest: bool) -> date:
    """Binary search over days: age in full years only ever falls as the birth date rises, so
    the age bounds are birth-date bounds computed once per check instead of once per row."""
    low, high = date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal()
    if latest:
        # holds() is true up to some day and false after it.
        while low < high:
            middle = (low + high + 1) // 2
            if holds(date.fromordinal(middle)):
                low = middle
            else:
                high = middle - 1
        return date.fromordinal(low)
    while low < high:
        middle = (low + high) // 2
        if holds(date.fromordinal(middle)):
            high = middle
        else:
            low = middle + 1
    return date.fromordinal(low)


class RowChecker:
    """Everything that is the same for every row, computed once; ``check`` is the hot loop."""

    def __init__(
        self,
        *,
        rules: PlanRules,
        coverage_start: date,
        today: date,
        columns: Mapping[str, tuple[int, str]],
    ) -> None:
        self.rules = rules
        self.coverage_start = coverage_start
        self.today = today
        eligibility = rules.eligibility
        self.age_min = eligibility.age_min
        self.age_max = eligibility.age_max
        self.born_by = _latest_birth(coverage_start, eligibility.age_min)
        self.born_from = _earliest_birth(coverage_start, eligibility.age_max)
        self.allowed_types = frozenset(eligibility.employment_types) - {RETIRED}
        self.genders = frozenset(eligibility.genders)
        self.occupations = eligibility.occupations
        self.medical_required = eligibility.medical_insurance_required
        self.shares_min = rules.shares.min
        self.shares_max = rules.shares.max
        per_share = rules.fees.per_share
        self.per_share = {
            False: per_share,
            True: per_share + rules.fees.high_risk_surcharge_per_share,
        }
        self._fees: dict[tuple[int, bool], Decimal] = {}
        # (0-based column, header) by key position; (None, None) for a column the file lacks.
        self.where = [columns.get(key, (None, None)) for key in KEYS]
        self.has = [key in columns for key in KEYS]

    def _add(
        self, findings: list[Finding], row: int, key: int, code: str, message: str, level=ERROR
    ) -> None:
        col, header = self.where[key]
        findings.append(Finding(code, level, row, header, message, col))

    def _required(self, findings: list[Finding], row: int, key: int) -> None:
        header = self.where[key][1]
        self._add(findings, row, key, "required_missing", f"“{header}”未填写。这是必填项，请补填。")

    def check(
        self, number: int, cells: tuple, findings: list[Finding]
    ) -> tuple[RosterRow, str | None]:
        """Check one row, append its findings; return the row and its ID when well-formed."""
        add = self._add
        before = len(findings)

        # Name.
        raw = cells[_NAME]
        name = raw.strip() if type(raw) is str else cell_text(raw)
        if not name:
            self._required(findings, number, _NAME)
        elif len(name) > NAME_MAX_LENGTH:
            add(
                findings,
                number,
                _NAME,
                "name_invalid",
                f"姓名“{name[:40]}”有{len(name)}个字，超过了{NAME_MAX_LENGTH}个字。"
                "请按身份证上的姓名填写，不要填写其他内容。",
            )
        elif _HAS_DIGIT.search(name):
            add(
                findings,
                number,
                _NAME,
                "name_invalid",
                f"姓名“{name}”中含有数字。请按身份证上的姓名填写。",
            )

        # ID number: form, birth date, check digit; then what it tells about the person.
        raw = cells[_ID]
        id_number = ""
        birth = gender = None
        if raw is None or (type(raw) is str and not raw.strip()):
            self._required(findings, number, _ID)
        elif isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
            # A number cell is never an ID, whoever wrote it and however: Excel's 1.10101E+17
            # has lost digits, and the plain 18-digit integer Gnumeric, ExcelJS and SheetJS
            # write was a double first (220102199003070064 became 220102199003070080, a valid
            # ID of someone else). Only the clerk can re-enter it, as text.
            add(findings, number, _ID, "id_format", EXCEL_NUMBER_MESSAGE)
        else:
            quick = None
            if type(raw) is str and _ID_READY.fullmatch(raw):
                id_number = raw
                quick = _quick_id(raw, self.today)
            if quick is not None:
                birth, gender = quick
            else:
                try:
                    id_number = id_number or normalise_id_number(raw)
                    info = validate_id_number(id_number, today=self.today)
                except IdNumberError as exc:
                    # A number cell that lost its last digits keeps no ID: showing the rounded
                    # digits as an ID would only mislead.
                    add(findings, number, _ID, exc.code, exc.message)
                else:
                    birth, gender = info.birth_date, info.gender
        if birth is not None:
            if birth > self.born_by:
                add(findings, number, _ID, "age_below_min", self._age_message(birth, low=True))
            elif birth < self.born_from:
                add(findings, number, _ID, "age_above_max", self._age_message(birth, low=False))

        if self.has[_GENDER]:
            raw = cells[_GENDER]
            try:
                stated = parse_gender(raw)
            except CellError as exc:
                add(findings, number, _GENDER, "value_invalid", str(exc))
            else:
                if stated is not None and gender is not None and stated != gender:
                    add(
                        findings,
                        number,
                        _GENDER,
                        "gender_mismatch",
                        f"性别填写为“{_GENDER_WORDS[stated]}”，但身份证号码显示为"
                        f"“{_GENDER_WORDS[gender]}”。请核对身份证号码和性别。",
                    )
        if self.genders and gender is not None and gender not in self.genders:
            key = _GENDER if self.has[_GENDER] else _ID
            allowed = "、".join(_GENDER_WORDS[g] for g in sorted(self.genders))
            add(
                findings,
                number,
                key,
                "gender_ineligible",
                f"本计划只接受{allowed}性会员参加，该人员身份证号码显示为"
                f"{_GENDER_WORDS[gender]}性，请从名单中删除。",
            )

        if self.has[_BIRTH]:
            raw = cells[_BIRTH]
            try:
                stated_birth = parse_date(raw)
            except CellError as exc:
                add(findings, number, _BIRTH, "value_invalid", str(exc))
            else:
                if stated_birth is not None and birth is not None and stated_birth != birth:
                    add(
                        findings,
                        number,
                        _BIRTH,
                        "birthdate_mismatch",
                        f"出生日期填写为{stated_birth:%Y-%m-%d}，但身份证号码中的出生日期是"
                        f"{birth:%Y-%m-%d}。请核对身份证号码和出生日期。",
                    )

        # Phone.
        raw = cells[_PHONE]
        if type(raw) is str and _MOBILE.fullmatch(raw):
            phone = raw
        elif raw is None or (type(raw) is str and not raw.strip()):
            phone = ""
            self._required(findings, number, _PHONE)
        else:
            try:
                phone = normalise_phone(raw)
            except ValueError as exc:
                phone = cell_text(raw)
                add(findings, number, _PHONE, "phone_invalid", str(exc))
            else:
                if not phone_valid(phone):
                    add(
                        findings,
                        number,
                        _PHONE,
                        "phone_invalid",
                        f"手机号码“{cell_text(raw)}”不正确：应为11位手机号码，以1开头。"
                        "请核对后重新填写。",
                    )

        # Employment type.
        raw = cells[_EMPLOYMENT]
        employment = raw.strip() if type(raw) is str else cell_text(raw)
        if employment not in _EMPLOYMENT_TYPES and employment:
            employment = squeeze(employment)
        if not employment:
            self._required(findings, number, _EMPLOYMENT)
        elif employment not in _EMPLOYMENT_TYPES:
            add(
                findings,
                number,
                _EMPLOYMENT,
                "employment_type_invalid",
                f"用工类型“{employment}”无法识别，应填写以下之一：{'、'.join(EMPLOYMENT_TYPES)}。",
            )
        elif employment == RETIRED:
            add(
                findings,
                number,
                _EMPLOYMENT,
                "employment_type_ineligible",
                "退休人员不能参加职工互助保障，请从名单中删除。",
            )
        elif employment not in self.allowed_types:
            add(
                findings,
                number,
                _EMPLOYMENT,
                "employment_type_ineligible",
                f"本计划不接受用工类型为“{employment}”的人员（可参加："
                f"{'、'.join(sorted(self.allowed_types, key=EMPLOYMENT_TYPES.index))}），"
                "请从名单中删除或核对用工类型。",
            )

        # Occupation: free unless the plan names the ones it covers.
        raw = cells[_OCCUPATION]
        occupation = squeeze(raw) if raw is not None and raw != "" else ""
        if self.occupations and occupation not in self.occupations:
            listed = "、".join(self.occupations)
            if not self.has[_OCCUPATION]:
                message = (
                    f"本计划要求填写职业类别（可选：{listed}），但名单中没有“职业类别”列。"
                    "请加上该列并逐行填写。"
                )
            elif not occupation:
                message = f"本计划要求填写职业类别，该行未填写。可选：{listed}。"
            else:
                message = f"职业类别“{occupation}”不在本计划的保障范围内。可选：{listed}。"
            add(findings, number, _OCCUPATION, "occupation_ineligible", message)

        # Medical insurance (required column) and high risk (optional, default 否).
        raw = cells[_MEDICAL]
        medical = _YES_NO_FAST.get(raw) if type(raw) is str else None
        if medical is None:
            try:
                medical = parse_yes_no(raw)
            except CellError as exc:
                header = self.where[_MEDICAL][1]
                add(findings, number, _MEDICAL, "value_invalid", f"“{header}”一栏中{exc}")
            else:
                if medical is None:
                    self._required(findings, number, _MEDICAL)
        if medical is False and self.medical_required:
            add(
                findings,
                number,
                _MEDICAL,
                "medical_insurance_required",
                "本计划要求参加职工基本医疗保险，该人员填写为“否”，不能参加。"
                "请核实：已参保的改为“是”，未参保的从名单中删除。",
            )
        raw = cells[_HIGH_RISK]
        high_risk = _YES_NO_FAST.get(raw) if type(raw) is str else None
        if high_risk is None:
            try:
                high_risk = parse_yes_no(raw)
            except CellError as exc:
                header = self.where[_HIGH_RISK][1]
                add(findings, number, _HIGH_RISK, "value_invalid", f"“{header}”一栏中{exc}")
            high_risk = bool(high_risk)

        # Shares: 1 when the column or the cell is empty.
        raw = cells[_SHARES]
        try:
            shares = parse_shares(raw)
        except CellError as exc:
            shares = None
            add(findings, number, _SHARES, "shares_invalid", str(exc))
        else:
            if shares is None:
                shares = 1
            if not self.shares_min <= shares <= self.shares_max:
                add(findings, number, _SHARES, "shares_out_of_range", self._shares_message(shares))

        # Bank card: a warning only, it is needed for paying claims, not for enrolling.
        raw = cells[_BANK]
        bank_card = ""
        if raw is not None and raw != "":
            if isinstance(raw, float):
                bank_card = cell_text(raw)
                add(
                    findings,
                    number,
                    _BANK,
                    "bank_card_invalid",
                    "银行卡号被Excel当作数字保存，后几位可能已经丢失。"
                    "请把该列设置为文本格式，再重新录入完整的卡号。",
                    WARNING,
                )
            else:
                if type(raw) is str and raw.isascii() and raw.isdigit():
                    bank_card = raw
                else:
                    bank_card = normalise_digits("".join(cell_text(raw).split()))
                if bank_card and not (bank_card.isascii() and bank_card.isdigit()):
                    add(
                        findings,
                        number,
                        _BANK,
                        "bank_card_invalid",
                        "银行卡号只能包含数字，请对照银行卡核对后重新填写。",
                        WARNING,
                    )
                elif bank_card and not _luhn_quick(bank_card):
                    add(
                        findings,
                        number,
                        _BANK,
                        "bank_card_invalid",
                        "银行卡号校验未通过，可能有数字录错。请对照银行卡逐位核对"
                        "（不影响参保，但卡号错误会影响理赔款发放）。",
                        WARNING,
                    )

        raw = cells[_NOTE]
        note = raw.strip() if type(raw) is str else cell_text(raw)

        ok = not any(f.level == ERROR for f in findings[before:])
        row = RosterRow(
            row=number,
            name=name,
            id_number=id_number,
            birth_date=birth,
            gender=gender,
            phone=phone,
            employment_type=employment,
            occupation=occupation,
            medical_insurance=medical,
            shares=shares,
            high_risk=high_risk,
            bank_card=bank_card,
            note=note,
            fee=ZERO,
            ok=ok,
        )
        return row, (id_number if birth is not None else None)

    def _age_message(self, birth: date, *, low: bool) -> str:
        start = f"{self.coverage_start:%Y-%m-%d}"
        if birth > self.coverage_start:
            return (
                f"身份证号码显示出生于{birth:%Y-%m-%d}，晚于保障开始日{start}，"
                "不能参加本计划。请核对身份证号码。"
            )
        age = age_on(birth, self.coverage_start)
        if low:
            return (
                f"按保障开始日{start}计算，该人员{age}周岁，不满本计划的最低参保年龄"
                f"{self.age_min}周岁，不能参加。请从名单中删除或核对身份证号码。"
            )
        return (
            f"按保障开始日{start}计算，该人员{age}周岁，超过本计划的最高参保年龄"
            f"{self.age_max}周岁，不能参加。请从名单中删除或核对身份证号码。"
        )

    def _shares_message(self, shares: int) -> str:
        if self.shares_min == self.shares_max:
            return (
                f"本计划每人参保{self.shares_max}份，该行填写了{shares}份。"
                f"请改为{self.shares_max}。"
            )
        return (
            f"份数{shares}超出本计划允许的范围：每人{self.shares_min}至{self.shares_max}份。"
            "请核对后重新填写。"
        )

    # --- checks across rows ------------------------------------------------------------------

    def check_duplicates(self, rows: list[RosterRow], findings: list[Finding]) -> None:
        """Every occurrence of an ID after its first is a duplicate."""
        first: dict[str, int] = {}
        for row in rows:
            if not row.id_number:
                continue
            seen = first.setdefault(row.id_number, row.row)
            if seen != row.row:
                self._add(
                    findings,
                    row.row,
                    _ID,
                    "duplicate_in_file",
                    f"身份证号码与第{seen}行重复，同一人在名单中只能出现一次。请删除重复的行。",
                )

    def check_uniform_shares(self, rows: list[RosterRow], findings: list[Finding]) -> None:
        """Plans that want every member of a unit on the same shares: rows that differ from the
        most common value are errors. On a tie the smaller value counts as the common one, since
        asking a few people to take fewer shares is the cheaper correction for the unit."""
        if not self.rules.shares.uniform_per_unit:
            return
        counts = Counter(row.shares for row in rows if row.shares is not None)
        if len(counts) < 2:
            return
        common = min(counts, key=lambda value: (-counts[value], value))
        for row in rows:
            if row.shares is not None and row.shares != common:
                self._add(
                    findings,
                    row.row,
                    _SHARES,
                    "shares_not_uniform",
                    f"本计划要求同一单位的参保人员份数相同。名单中大多数人为{common}份，"
                    f"该行为{row.shares}份，请统一。",
                )

    def check_held(
        self,
        rows: list[RosterRow],
        ids: list[str | None],
        held_shares: Callable[[list[str]], Mapping[str, int]],
        findings: list[Finding],
    ) -> None:
        """Shares already held in this plan, in any union, on any day of this period (by cover of
        this period or by any cover overlapping it), count against the limit."""
        distinct = list(dict.fromkeys(i for i in ids if i is not None))
        held = held_shares(distinct)
        if not held:
            return
        for row, id_number in zip(rows, ids, strict=True):
            if id_number is None or row.shares is None:
                continue
            already = held.get(id_number, 0)
            if already and already + row.shares > self.shares_max:
                self._add(
                    findings,
                    row.row,
                    _ID,
                    "already_enrolled",
                    f"该人员在与本次保障期重叠的期间已参加本计划{already}份，"
                    f"再加上本次{row.shares}份，"
                    f"超过每人最多{self.shares_max}份的限制。请删除该行或减少份数。",
                )

    def fee(self, row: RosterRow) -> Decimal:
        key = (row.shares or 0, row.high_risk)
        fee = self._fees.get(key)
        if fee is None:
            fee = self._fees[key] = quantize_money(key[0] * self.per_share[row.high_risk])
        return fee


# --- the unit ----------------------------------------------------------------------------------


def participation_finding(
    rules: PlanRules, headcount: int | None, valid_rows: int
) -> Finding | None:
    """The unit must enroll at least the plan's share of the members on its books."""
    if headcount is None or headcount <= 0:
        return None
    needed = rules.participation_min_rate(headcount)
    if needed is None or valid_rows >= needed * headcount:
        return None
    reached = (Decimal(valid_rows) * 100 / headcount).quantize(Decimal("0.1"), ROUND_DOWN)
    needed_text = f"{(needed * 100).normalize():f}"
    return Finding(
        "participation_below_minimum",
        ERROR,
        None,
        None,
        f"参保率 {reached}%，低于本计划要求的 {needed_text}%（在册 {headcount} 人，"
        f"有效参保 {valid_rows} 人）。请补充参保人员，或核对单位在册人数。",
    )


def headcount_finding(headcount: int | None, rows: int) -> Finding | None:
    """A warning when the roster lists more people than the unit has on its books: a 5,000-row
    file for an 80-person unit is another unit's list, last year's, or pasted twice."""
    if headcount is None or headcount <= 0 or rows <= headcount:
        return None
    return Finding(
        "rows_exceed_headcount",
        WARNING,
        None,
        None,
        f"名单中有{rows}人，多于单位的在册职工人数{headcount}人。请检查名单中是否混入了"
        "其他单位或往年的人员、是否重复粘贴了内容；如果单位人数确实增加了，请更新单位的在册人数。",
    )
