"""The PDF documents of a roster: the fee notice (缴费通知单) and the certificate list (参保凭证).

Both are official forms a unit files and an office stamps, so they are always rendered in
Chinese, whatever language the request or task that asks for them runs in. The context
builders are public so that a page can show the same figures the PDF prints.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db.models import Count, Sum
from django.utils import timezone, translation

from enrollment.models import Enrollment, Roster
from enrollment.payments import bank_account_of, roster_dues
from mutualaid.formatting import day, money, period
from mutualaid.pdf import render_pdf
from organisation.models import Union
from plans.engine.identity import mask_id_number
from plans.engine.money import ZERO, quantize_money
from plans.engine.rules import PlanRules
from plans.templatetags.plan_rules import PAYER_LABELS

DOCUMENT_LANGUAGE = "zh-hans"
FEE_NOTICE_PREFIX = "JF"
# The order payers appear in on the notice: what others pay first, then the unit's own shares.
FUNDING_ORDER = ("subsidy", "unit", "union", "member")
# WeasyPrint lays out a certificate list at about 270 rows a second, and its memory grows with
# the document: 5,000 rows took 19 s and peaked at 0.8 GB, 10,000 rows 41 s and 1.4 GB. One file
# therefore holds at most 5,000 people (about 125 pages); a bigger roster is printed in parts with
# ``certificates_pdf(..., first=, count=)``.
CERTIFICATES_PER_FILE = 5_000


class DocumentDataError(ValueError):
    """The roster's data cannot be printed as it stands; the message says why, in Chinese."""


# --- amounts in words --------------------------------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_WAN = 10**4
_YI = 10**8


def _below_wan(number: int) -> str:
    """1..9999 in capitals; inner zeros read as one 零, trailing zeros are not read."""
    text = ""
    pending_zero = False
    for digit, place in zip(f"{number:04d}", _PLACES, strict=True):
        if digit == "0":
            pending_zero = bool(text)
            continue
        if pending_zero:
            text += "零"
            pending_zero = False
        text += _DIGITS[int(digit)] + place
    return text


def _integer_in_words(number: int) -> str:
    """A positive whole number in capitals, split at 亿 and 万."""
    if number >= _YI:
        base, unit = _YI, "亿"
    elif number >= _WAN:
        base, unit = _WAN, "万"
    else:
        return _below_wan(number)
    high, low = divmod(number, base)
    text = _integer_in_words(high) + unit
    if low:
        # A gap below the 亿 or 万 (100,0001 → 壹佰万零壹) is read as one 零.
        if low < base // 10:
            text += "零"
        text += _integer_in_words(low)
    return text


def amount_in_chinese(value: Decimal) -> str:
    """An amount of yuan in the capital numerals that cheques and notices use (大写金额).

    Follows the People's Bank payment rules: "整" after 元 or 角 but not after 分; 零 between 元
    and 分 when there are no 角; when the 元 digit is 0 and 角 is not, one 零 is written
    (1680.32 → 壹仟陆佰捌拾元零叁角贰分), the first of the two forms the rules allow.
    """
    try:
        amount = quantize_money(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"only amounts of zero or more can be written in words: {value!r}")
    cents = int(amount * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if yuan == 0 and rest == 0:
        return "零元整"
    text = ""
    if yuan:
        text = _integer_in_words(yuan) + "元"
        if rest and (jiao == 0 or yuan % 10 == 0):
            text += "零"
    if jiao:
        text += _DIGITS[jiao] + "角"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return text


# --- shared pieces -------------------------------------------------------------------------------


def _figure(amount: Decimal) -> str:
    """An amount as the documents print it beside 元 or under 金额（元）: 13,530.00."""
    return money(amount, symbol=False)


def _long_day(value: datetime.date) -> str:
    return day(value, long=True, language=DOCUMENT_LANGUAGE)


def _long_period(start: datetime.date, end: datetime.date) -> str:
    return period(start, end, long=True, language=DOCUMENT_LANGUAGE)


def _percent(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DocumentDataError(f"分担比例“{value}”不是数字。") from exc
    return f"{number.normalize():f}%" if number else "0%"


def office_of(union: Union) -> Union:
    """The office at the root of the union's branch: it issues the notice and takes the money."""
    root_id = int(union.path.split("/", 1)[0])
    return union if root_id == union.pk else Union.objects.get(pk=root_id)


def fee_notice_number(roster: Roster) -> str:
    """The reference a unit writes on its bank transfer, so the office can match the payment."""
    return f"{FEE_NOTICE_PREFIX}-{roster.pk:08d}"


def _plan_heading(roster: Roster) -> dict[str, Any]:
    version = roster.plan_version
    return {
        "name": version.plan.display_name,
        "code": version.plan.code,
        "version": version.number,
    }


# --- fee notice ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingRow:
    payer: str
    label: str
    percent: str
    amount: Decimal
    amount_text: str


def _funding_rows(roster: Roster, rules: PlanRules) -> list[FundingRow]:
    """The roster's split of the fee by payer, checked against the roster's total."""
    funding = roster.funding or {}
    amounts = funding.get("amounts") or {}
    percents = funding.get("percent") or {}
    if not amounts:
        return []
    unknown = sorted(set(amounts) - set(FUNDING_ORDER))
    if unknown:
        raise DocumentDataError(f"分担方式中有不认识的出资方：{'、'.join(unknown)}。")
    rows = []
    # Percentages split what is left after subsidies, so a subsidy has none ("—").
    for payer in FUNDING_ORDER:
        try:
            amount = quantize_money(amounts.get(payer) or "0")
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise DocumentDataError(f"出资金额“{amounts.get(payer)}”不是数字。") from exc
        percent = "—" if payer == "subsidy" else _percent(percents.get(payer, "0"))
        # A payer that carries nothing of this roster's fee has no line of its own.
        if not amount and percent in ("—", "0%"):
            continue
        label = str(PAYER_LABELS[payer])
        if payer == "subsidy":
            names = "、".join(s.name for s in rules.fees.subsidies)
            if names:
                label = f"{label}（{names}）"
        rows.append(FundingRow(payer, label, percent, amount, _figure(amount)))
    total = sum((row.amount for row in rows), ZERO)
    if total != quantize_money(roster.fee_total):
        raise DocumentDataError(
            f"分担金额合计 {_figure(total)} 元与应缴会费 {_figure(roster.fee_total)} 元不一致，"
            "请重新核算分担方式后再出具缴费通知单。"
        )
    return rows


def _funding_mode_label(roster: Roster, rules: PlanRules) -> str:
    """The unit's funding choice in words: the plan's name for the chosen mode, or else who
    carries which share ("单位行政负担 60%、职工个人负担 40%"); never a code."""
    funding = roster.funding or {}
    code = funding.get("mode")
    for mode in rules.funding.modes:
        if code and mode.code == code:
            return mode.label
    shares = []
    for payer in FUNDING_ORDER:
        value = (funding.get("percent") or {}).get(payer)
        if payer == "subsidy" or value in (None, "") or not Decimal(str(value)):
            continue
        shares.append(f"{PAYER_LABELS[payer]}负担 {_percent(value)}")
    return "、".join(shares)


def fee_notice_context(roster: Roster, *, issued_on: datetime.date | None = None) -> dict[str, Any]:
    rules = roster.plan_version.parsed_rules
    unit = roster.union
    office = office_of(unit)
    counted = Enrollment.objects.filter(roster=roster).exclude(status=Enrollment.Status.CANCELLED)
    totals = counted.aggregate(people=Count("id"), shares=Sum("shares"))
    funding_rows = _funding_rows(roster, rules)
    fee_total = quantize_money(roster.fee_total)
    subsidy = sum((r.amount for r in funding_rows if r.payer == "subsidy"), ZERO)
    payable = fee_total - subsidy
    return {
        "roster": roster,
        "notice_number": fee_notice_number(roster),
        "issued_on": _long_day(issued_on or timezone.localdate()),
        "office": office,
        "unit": unit,
        "plan": _plan_heading(roster),
        "period": _long_period(roster.coverage_start, roster.coverage_end),
        # Before import the roster's checked rows are the best count there is.
        "people": totals["people"] or roster.rows_valid,
        "shares": totals["shares"],
        "per_share": _figure(rules.fees.per_share),
        "surcharge": _figure(rules.fees.high_risk_surcharge_per_share)
        if rules.fees.high_risk_surcharge_per_share
        else "",
        "fee_total": _figure(fee_total),
        "fee_total_words": amount_in_chinese(fee_total),
        "funding_mode": _funding_mode_label(roster, rules),
        "funding_rows": funding_rows,
        "subsidy": _figure(subsidy) if subsidy else "",
        "payable": _figure(payable),
        "payable_words": amount_in_chinese(payable),
        # Who transfers what: the unit, and each subsidy giver separately (the same split the
        # payment page and the ledger show).
        "givers": [
            {"name": due.giver, "amount": _figure(due.amount)}
            for due in roster_dues(roster)
            if due.payer == "subsidy"
        ],
        "account": bank_account_of(office),
    }


def fee_notice_pdf(roster: Roster, *, issued_on: datetime.date | None = None) -> bytes:
    """The fee notice of a roster. ``issued_on`` defaults to today; a task that retries passes
    the first attempt's date so that the same notice comes out again."""
    with translation.override(DOCUMENT_LANGUAGE):
        context = fee_notice_context(roster, issued_on=issued_on)
        return render_pdf("enrollment/pdf/fee_notice.html", context)


# --- certificate list ----------------------------------------------------------------------------


class CertificateRow(NamedTuple):
    number: int
    name: str
    id_masked: str
    shares: int
    fee: str
    period: str


def certificates_context(
    roster: Roster,
    *,
    first: int = 1,
    count: int | None = CERTIFICATES_PER_FILE,
    issued_on: datetime.date | None = None,
) -> dict[str, Any]:
    """Rows ``first`` .. ``first + count - 1`` (1-based, in roster order) of the roster's active
    enrollments, with totals for the rows printed and for the whole roster."""
    if first < 1 or (count is not None and count < 1):
        raise ValueError("first and count must be positive")
    active = Enrollment.objects.filter(roster=roster, status=Enrollment.Status.ACTIVE)
    overall = active.aggregate(people=Count("id"), shares=Sum("shares"), fee=Sum("fee"))
    selected = active.order_by("id").values_list(
        "member__name", "member__id_number", "shares", "fee", "coverage_start", "coverage_end"
    )
    end = None if count is None else first - 1 + count
    rows = []
    shares = 0
    fee = ZERO
    for number, (name, id_number, row_shares, row_fee, start, stop) in enumerate(
        selected[first - 1 : end].iterator(chunk_size=2000), start=first
    ):
        shares += row_shares
        fee += row_fee
        rows.append(
            CertificateRow(
                number,
                name,
                mask_id_number(id_number),
                row_shares,
                _figure(row_fee),
                f"{day(start)}–{day(stop)}",
            )
        )
    people = overall["people"] or 0
    return {
        "roster": roster,
        "unit": roster.union,
        "office": office_of(roster.union),
        "plan": _plan_heading(roster),
        "period": _long_period(roster.coverage_start, roster.coverage_end),
        "issued_on": _long_day(issued_on or timezone.localdate()),
        "rows": rows,
        "part": {
            "first": first,
            "last": first + len(rows) - 1,
            "is_whole": first == 1 and len(rows) == people,
        },
        "totals": {"people": len(rows), "shares": shares, "fee": _figure(fee)},
        "overall": {
            "people": people,
            "shares": overall["shares"] or 0,
            "fee": _figure(overall["fee"] or ZERO),
        },
    }


def certificates_parts(
    roster: Roster, *, per_file: int = CERTIFICATES_PER_FILE
) -> list[tuple[int, int]]:
    """``(first, count)`` of each file the roster's certificate list is printed in."""
    people = Enrollment.objects.filter(roster=roster, status=Enrollment.Status.ACTIVE).count()
    return [(first, per_file) for first in range(1, people + 1, per_file)] or [(1, per_file)]


def certificates_pdf(
    roster: Roster,
    *,
    first: int = 1,
    count: int | None = CERTIFICATES_PER_FILE,
    issued_on: datetime.date | None = None,
) -> bytes:
    """The coverage certificate list of a roster's active enrollments, ID numbers masked.

    One file holds at most ``count`` people; a bigger roster is printed in parts by calling
    again with ``first`` moved on (``count=None`` prints everyone in one file, however long).
    """
    with translation.override(DOCUMENT_LANGUAGE):
        context = certificates_context(roster, first=first, count=count, issued_on=issued_on)
        return render_pdf("enrollment/pdf/certificates.html", context)
