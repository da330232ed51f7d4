"""The documents of a decided claim: the decision notice (理赔决定通知书) a member receives, many of
them printed as one file, and the bank transfer workbook of a payment batch.

Notices are official forms an office stamps, so they are always rendered in Chinese, whatever
language the request or task that asks for them runs in. Every notice of a file is laid out in
one WeasyPrint render; each starts on a new page and numbers its own pages from 1, and its footer
says which notice of the file it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from claims.models import Claim, PaymentBatch, Payout, Transfer
from claims.reasons import reason_text
from enrollment.documents import amount_in_chinese, office_of
from mutualaid.exports import neutralise
from mutualaid.formatting import AMOUNT_FORMAT, day, money, period
from mutualaid.pdf import render_pdf
from organisation.models import Union
from plans.engine.identity import mask_bank_card, mask_id_number
from plans.engine.money import ZERO, quantize_money
from plans.engine.rules import PlanRules

DOCUMENT_LANGUAGE = "zh-hans"
TEMPLATE = "claims/pdf/decision_notice.html"
# One render holds every page of the file in memory until it is written: on the benchmark
# machine 100 notices took 5 s and 290 MB at peak, 200 took 12 s and 440 MB, 500 took 31 s and
# 870 MB. A file therefore holds at most 200 notices; print more in several files.
NOTICES_PER_FILE = 200

# What the notice calls the event date, by benefit type (and, for a reimbursement, by the
# event it reimburses). Anything else is the generic 出险日期.
_EVENT_LABELS = {
    "hospital_allowance": "入院日期",
    "critical_illness": "确诊日期",
    "accident": "事故日期",
    "hospital_stay": "入院日期",
    "fire": "火灾日期",
}
_DEFAULT_EVENT_LABEL = "出险日期"
_PAYOUT_PURPOSE = {
    Payout.Kind.PRIMARY: "互助保障金",
    Payout.Kind.SECONDARY: "二次救助金",
}


class NoticeDataError(ValueError):
    """The claim cannot be put on a notice as it stands; the message says why, in Chinese."""


# --- small formatting helpers ------------------------------------------------------------------


def _long_day(value: datetime.date) -> str:
    return day(value, long=True, language=DOCUMENT_LANGUAGE)


def _yuan(amount: Decimal, *, signed: bool = False) -> str:
    """An amount under 金额（元） or beside 元: 1,680.32, written by the portal's one helper."""
    return money(amount, symbol=False, signed=signed)


def _money(value: Any, what: str) -> Decimal:
    try:
        return quantize_money(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise NoticeDataError(f"{what}“{value}”不是金额。") from exc


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    if moment is None:
        return None
    return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()


# --- the decision notice -----------------------------------------------------------------------


def _benefit_heading(claim: Claim, rules: PlanRules) -> tuple[str, str]:
    """The benefit's label and what its event date is called."""
    benefit = rules.benefit(claim.benefit)
    if benefit is None:
        # A claim rejected as benefit_not_in_plan names a benefit the plan does not have.
        return claim.benefit, _DEFAULT_EVENT_LABEL
    kind = getattr(benefit, "event", None) or benefit.type
    return benefit.label, _EVENT_LABELS.get(kind, _DEFAULT_EVENT_LABEL)


def _payment_breakdown(claim: Claim, approved: Decimal) -> dict[str, Any]:
    """How the approved amount came about, as the member should read it.

    The engine's lines are printed whenever it proposed a payment, because they show how the
    plan's rules apply to this claim. When staff changed the amount, the engine's result stays
    visible (按保障计划规定计算的金额), followed by the adjustment and its reason, so that the
    member sees both the rule and why the office departed from it; the approved amount is what
    is paid.
    When the engine proposed no payment (staff approved against it) its lines say nothing about
    the amount, and only the office's decision and reason are printed.
    """
    proposal = claim.proposal or {}
    lines = []
    computed = None
    if proposal.get("decision") == "pay":
        computed = _money(proposal.get("amount", "0"), "计算金额")
        for line in proposal.get("lines") or []:
            amount = _money(line.get("amount", "0"), "明细金额")
            lines.append({"label": str(line.get("label", "")), "amount": _yuan(amount)})
    overridden = computed is None or computed != approved or bool(claim.override_reason.strip())
    adjustment = None
    if overridden and computed is not None:
        difference = approved - computed
        shown = _yuan(difference, signed=True) if difference else "—"
        adjustment = {"amount": shown, "reason": claim.override_reason.strip()}
    return {
        "lines": lines,
        "computed": _yuan(computed) if computed is not None else "",
        "adjustment": adjustment,
        "office_decision": claim.override_reason.strip() if computed is None else "",
    }


def decision_notice_context(
    claim: Claim,
    *,
    office: Union | None = None,
    rules: PlanRules | None = None,
    issued_on: datetime.date | None = None,
) -> dict[str, Any]:
    """What one notice prints. ``office`` and ``rules`` may be passed by a caller that already
    holds them (a batch, a benchmark); otherwise they are read from the claim. The notice is
    dated ``issued_on``, else the day of the decision, so that a reprint is the same notice."""
    if claim.status not in (Claim.Status.APPROVED, Claim.Status.PAID, Claim.Status.REJECTED):
        raise NoticeDataError(f"理赔 {claim.number} 尚未作出决定，不能出具理赔决定通知书。")
    enrollment = claim.enrollment
    member = enrollment.member
    version = enrollment.plan_version
    rules = rules or version.parsed_rules
    unit = claim.union
    office = office or office_of(unit)
    benefit_label, event_label = _benefit_heading(claim, rules)
    issued = issued_on or _local_date(claim.decided_at) or timezone.localdate()
    approved = claim.status != Claim.Status.REJECTED
    context: dict[str, Any] = {
        "number": claim.number,
        "issued_on": _long_day(issued),
        "office": office,
        "unit": unit,
        "member_name": member.name,
        "member_id_masked": mask_id_number(member.id_number),
        "plan": {
            "name": version.plan.display_name,
            "code": version.plan.code,
            "version": version.number,
        },
        "coverage": period(
            enrollment.coverage_start,
            enrollment.coverage_end,
            long=True,
            language=DOCUMENT_LANGUAGE,
        ),
        "benefit_label": benefit_label,
        "event_label": event_label,
        "event_date": _long_day(claim.event_date),
        "reported_on": _long_day(_local_date(claim.reported_at) or claim.event_date),
        "approved": approved,
    }
    if approved:
        if claim.approved_amount is None:
            raise NoticeDataError(f"理赔 {claim.number} 已核准但没有核定金额。")
        amount = _money(claim.approved_amount, "核定金额")
        paid_on = _local_date(claim.paid_at) if claim.status == Claim.Status.PAID else None
        context.update(
            amount=_yuan(amount),
            amount_words=amount_in_chinese(amount),
            payee_name=claim.payee_name,
            payee_account_masked=mask_bank_card(claim.payee_account),
            paid_on=_long_day(paid_on) if paid_on else "",
            **_payment_breakdown(claim, amount),
        )
    else:
        reasons = [reason_text(code) for code in claim.reject_reasons or []]
        note = claim.override_reason.strip()
        context.update(reasons=reasons, review_note=note)
    return context


def render_notices(notices: list[dict[str, Any]]) -> bytes:
    """Notices built by ``decision_notice_context`` as one PDF, in one render."""
    with translation.override(DOCUMENT_LANGUAGE):
        return render_pdf(TEMPLATE, {"notices": notices, "count": len(notices)})


def decision_notice_pdf(claim: Claim, *, issued_on: datetime.date | None = None) -> bytes:
    """The decision notice of one approved, paid or rejected claim."""
    return render_notices([decision_notice_context(claim, issued_on=issued_on)])


def decision_notices_pdf(
    claims: Iterable[Claim], *, issued_on: datetime.date | None = None
) -> bytes:
    """Many notices as one PDF, in the order given, each starting on a new page.

    The caller should select the claims with ``select_related("union",
    "enrollment__member", "enrollment__plan_version__plan")``; offices and parsed rules are
    looked up once per file, not once per notice. At most ``NOTICES_PER_FILE`` notices.
    """
    offices: dict[str, Union] = {}
    rules: dict[int, PlanRules] = {}
    notices = []
    for claim in claims:
        if len(notices) == NOTICES_PER_FILE:
            raise NoticeDataError(f"一个文件最多打印 {NOTICES_PER_FILE} 份通知书，请分批打印。")
        root = claim.union.path.split("/", 1)[0]
        if root not in offices:
            offices[root] = office_of(claim.union)
        version = claim.enrollment.plan_version
        if version.pk not in rules:
            rules[version.pk] = version.parsed_rules
        notices.append(
            decision_notice_context(
                claim, office=offices[root], rules=rules[version.pk], issued_on=issued_on
            )
        )
    if not notices:
        raise NoticeDataError("没有要打印的理赔决定通知书。")
    return render_notices(notices)


# --- the bank transfer workbook -----------------------------------------------------------------

BANK_SHEET = "转账明细"
BANK_HEADER = ("序号", "收款人", "收款账号", "金额（元）", "附言/用途", "理赔编号")
_BANK_WIDTHS = (7, 16, 26, 14, 28, 18)
_TEXT = "@"
_AMOUNT = AMOUNT_FORMAT
_THIN = Side(style="thin", color="FF999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="FFEDEDED")
_BOLD = Font(bold=True)


def payout_reference(payout: Payout) -> str:
    """The 附言 of a transfer: claim number and what the money is, so the member recognises
    it on their statement and the office can match the bank's return file."""
    return f"{payout.claim.number} {_PAYOUT_PURPOSE.get(payout.kind, payout.kind)}"


def _cell(ws, value: Any, *, number_format: str | None = None, header: bool = False):
    # Every text value goes through neutralise, whoever typed it; numbers stay numbers.
    cell = WriteOnlyCell(ws, value=neutralise(value))
    cell.border = _BORDER
    if number_format:
        cell.number_format = number_format
    if header:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    return cell


def bank_transfer_workbook(batch: PaymentBatch) -> bytes:
    """The batch's transfers as the workbook an office uploads to its bank.

    Account numbers are text cells (a number cell would show 6.22E+18 and lose digits), amounts
    are number cells with two decimals, and every text cell is neutralised against formula
    injection. The last row totals the batch; it must equal the batch's own total, or the file
    is not written.
    """
    # What was sent, as it was sent: a transfer the bank later returned stays in the file, with
    # the account it went to, and the payout's next attempt belongs to a later batch's file.
    transfers = list(
        batch.transfers.exclude(status=Transfer.Status.CANCELLED)
        .select_related("payout__claim")
        .order_by("payout__claim__number", "payout__kind", "pk")
    )
    total = sum((quantize_money(t.amount) for t in transfers), ZERO)
    if total != quantize_money(batch.total):
        raise NoticeDataError(
            f"付款批次 {batch.number} 的明细合计 {_yuan(total)} 元与批次金额 "
            f"{_yuan(batch.total)} 元不一致，请重新核对批次后再导出。"
        )
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"付款批次 {batch.number}"
    ws = workbook.create_sheet(BANK_SHEET)
    for index, width in enumerate(_BANK_WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "A2"
    # Printed for the signing officer as well as uploaded: one page wide, in landscape.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.append([_cell(ws, title, header=True) for title in BANK_HEADER])
    for number, transfer in enumerate(transfers, start=1):
        ws.append(
            [
                _cell(ws, number),
                _cell(ws, transfer.payee_name, number_format=_TEXT),
                _cell(ws, str(transfer.payee_account), number_format=_TEXT),
                _cell(ws, quantize_money(transfer.amount), number_format=_AMOUNT),
                _cell(ws, payout_reference(transfer.payout), number_format=_TEXT),
                _cell(ws, transfer.payout.claim.number, number_format=_TEXT),
            ]
        )
    ws.append(
        [
            _cell(ws, "合计", header=True),
            _cell(ws, f"共 {len(transfers)} 笔"),
            _cell(ws, None),
            _cell(ws, total, number_format=_AMOUNT),
            _cell(ws, f"付款批次 {batch.number}"),
            _cell(ws, None),
        ]
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
