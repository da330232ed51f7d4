"""Subsidy statements (补贴结算单): what one subsidy giver owes an office for a period.

Office staff make a statement for a giver and a period of cover starts: it lists every approved
roster of the office whose subsidy from that giver is still outstanding, with the unit and the
amount. The giver pays the statement with one transfer; recording that receipt settles every
line, and each roster whose unit has paid too is then paid and its cover starts. The statement
is printed (PDF) and exported (.xlsx, cells neutralised) for the giver.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from enrollment.models import Receipt, Roster, SubsidyStatement, SubsidyStatementLine
from enrollment.payments import (
    PaymentError,
    _check_receipt,
    _create,
    _over,
    clean_reference,
    dues_outstanding,
    lock_roster,
    roster_dues,
    roster_mark_paid,
    statement_received,
    subsidy_key,
)
from mutualaid.exports import neutralise
from mutualaid.formatting import AMOUNT_FORMAT, DATE_FORMAT, day, money, period
from organisation.models import Union, User
from plans.engine.money import ZERO

DOCUMENT_LANGUAGE = "zh-hans"


def _office_rosters(office: Union):
    return Roster.objects.filter(
        union__path__startswith=office.path, status=Roster.Status.APPROVED
    ).select_related("union", "plan_version__plan")


def subsidy_givers(office: Union) -> list[str]:
    """The givers whose subsidies the office's approved rosters are waiting for."""
    givers: dict[str, None] = {}
    versions = {r.plan_version_id: r.plan_version for r in _office_rosters(office)}
    for version in versions.values():
        for subsidy in version.parsed_rules.fees.subsidies:
            givers.setdefault(subsidy.payer)
    return list(givers)


def _candidates(office: Union, giver: str, start: datetime.date, end: datetime.date):
    """(roster, amount outstanding) for every roster the statement would list."""
    rosters = _office_rosters(office).filter(coverage_start__gte=start, coverage_start__lte=end)
    found = []
    for roster in rosters.order_by("pk"):
        due = next((d for d in roster_dues(roster) if d.key == subsidy_key(giver)), None)
        if due is not None and due.statement is None and due.outstanding > 0:
            found.append((roster, due.outstanding))
    return found


@transaction.atomic
def statement_create(
    *, office: Union, giver: str, start: datetime.date, end: datetime.date, user: User
) -> SubsidyStatement:
    if end < start:
        raise PaymentError(_("The period ends before it starts."))
    # Lock the rosters first: a receipt for one of them waits, and then sees its line.
    ids = [r.pk for r, _amount in _candidates(office, giver, start, end)]
    list(Roster.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    lines = _candidates(office, giver, start, end)
    if not lines:
        raise PaymentError(
            _("No approved roster with cover starting in this period waits for %(giver)s.")
            % {"giver": giver}
        )
    statement = SubsidyStatement.objects.create(
        office=office,
        giver=giver,
        period_start=start,
        period_end=end,
        total=sum((amount for _r, amount in lines), ZERO),
        created_by=user,
    )
    try:
        with transaction.atomic():
            SubsidyStatementLine.objects.bulk_create(
                SubsidyStatementLine(statement=statement, roster=r, giver=giver, amount=amount)
                for r, amount in lines
            )
    except IntegrityError as exc:
        raise PaymentError(
            _("Another statement listed some of these rosters at the same time; try again.")
        ) from exc
    return statement


def statement_outstanding(statement: SubsidyStatement) -> Decimal:
    return max(statement.total - statement_received(statement), ZERO)


def statement_receipt_preview(
    *, statement: SubsidyStatement, amount: Decimal, received_on: datetime.date, reference: str
) -> dict:
    _check_receipt(
        office=statement.office,
        amount=amount,
        received_on=received_on,
        reference=clean_reference(reference),
    )
    outstanding = statement_outstanding(statement)
    if amount > outstanding:
        raise _over(amount, outstanding, statement.giver)
    return {
        "payer": statement.giver,
        "amount": amount,
        "outstanding_before": outstanding,
        "outstanding_after": outstanding - amount,
        "rosters": statement.lines.count(),
    }


@transaction.atomic
def statement_receipt_record(
    *,
    statement: SubsidyStatement,
    user: User,
    amount: Decimal,
    received_on: datetime.date,
    reference: str,
) -> Receipt:
    """One transfer from the giver for the statement; once the statement is covered, each of
    its rosters whose other dues are covered too is paid."""
    statement = SubsidyStatement.objects.select_for_update().get(pk=statement.pk)
    reference = clean_reference(reference)
    _check_receipt(
        office=statement.office, amount=amount, received_on=received_on, reference=reference
    )
    outstanding = statement_outstanding(statement)
    if amount > outstanding:
        raise _over(amount, outstanding, statement.giver)
    receipt = _create(
        office=statement.office,
        statement=statement,
        payer=Receipt.Payer.SUBSIDY,
        giver=statement.giver,
        amount=amount,
        received_on=received_on,
        reference=reference,
        recorded_by=user,
    )
    if amount == outstanding:
        for roster_id in statement.lines.order_by("roster_id").values_list("roster_id", flat=True):
            roster = lock_roster(roster_id)
            if (
                roster.status == Roster.Status.APPROVED
                and dues_outstanding(roster_dues(roster)) == 0
            ):
                roster_mark_paid(roster=roster, user=user)
    return receipt


# --- the printed and exported statement ------------------------------------------------------


def statement_rows(statement: SubsidyStatement) -> list[dict]:
    from enrollment.documents import fee_notice_number

    rows = []
    lines = statement.lines.select_related("roster__union", "roster__plan_version__plan")
    for number, line in enumerate(lines, start=1):
        roster = line.roster
        rows.append(
            {
                "number": number,
                "unit": roster.union.name,
                "credit_code": roster.union.credit_code or "",
                "plan": roster.plan_version.plan.display_name,
                "notice": fee_notice_number(roster),
                "coverage_start": roster.coverage_start,
                "people": roster.rows_valid,
                "amount": line.amount,
            }
        )
    return rows


def statement_context(statement: SubsidyStatement) -> dict:
    from enrollment.documents import amount_in_chinese
    from enrollment.payments import bank_account_of

    rows = statement_rows(statement)
    return {
        "statement": statement,
        "number": statement.number,
        "office": statement.office,
        "account": bank_account_of(statement.office),
        "period": period(
            statement.period_start, statement.period_end, long=True, language=DOCUMENT_LANGUAGE
        ),
        "issued_on": day(statement.created_at, long=True, language=DOCUMENT_LANGUAGE),
        "rows": [dict(r, amount_text=money(r["amount"], symbol=False)) for r in rows],
        "people": sum(r["people"] for r in rows),
        "total": money(statement.total, symbol=False),
        "total_words": amount_in_chinese(statement.total),
    }


def statement_pdf(statement: SubsidyStatement) -> bytes:
    from mutualaid.pdf import render_pdf

    with translation.override(DOCUMENT_LANGUAGE):
        return render_pdf("enrollment/pdf/subsidy_statement.html", statement_context(statement))


STATEMENT_HEADERS = (
    "序号",
    "单位名称",
    "统一社会信用代码",
    "保障计划",
    "缴费通知单编号",
    "保障起始日",
    "参保人数",
    "补贴金额（元）",
)


def statement_xlsx(statement: SubsidyStatement) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("补贴结算单")

    def formatted(value: object, number_format: str) -> WriteOnlyCell:
        # Amounts and dates stay numbers and dates a giver can add up and sort, shown as the
        # portal writes them (13,530.00 and 2026-12-04).
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell

    sheet.append([neutralise(f"补贴结算单 {statement.number}")])
    sheet.append([neutralise(f"补贴出资方：{statement.giver}")])
    sheet.append(
        [neutralise(f"保障起始日：{day(statement.period_start)} 至 {day(statement.period_end)}")]
    )
    sheet.append(list(STATEMENT_HEADERS))
    for row in statement_rows(statement):
        sheet.append(
            [
                row["number"],
                neutralise(row["unit"]),
                neutralise(row["credit_code"]),
                neutralise(row["plan"]),
                neutralise(row["notice"]),
                formatted(row["coverage_start"], DATE_FORMAT),
                row["people"],
                formatted(row["amount"], AMOUNT_FORMAT),
            ]
        )
    total = statement.lines.aggregate(total=Sum("amount"))["total"] or ZERO
    sheet.append(["合计", None, None, None, None, None, None, formatted(total, AMOUNT_FORMAT)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
