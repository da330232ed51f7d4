"""The office's money pages: receipts for a roster (with a confirmation step), subsidy
statements and their receipts, the receipts ledger, and the office's receiving bank account."""

from __future__ import annotations

import io
from urllib.parse import quote

from django.contrib import messages
from django.db.models import Sum
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment import payments, statements
from enrollment.models import OfficeBankAccount, Receipt, Roster, SubsidyStatement
from enrollment.payment_forms import (
    BankAccountForm,
    ReceiptForm,
    StatementForm,
    StatementReceiptForm,
)
from mutualaid.auditlog import audit
from mutualaid.exports import neutralise
from mutualaid.formatting import AMOUNT_FORMAT, DATE_FORMAT
from organisation.decorators import report_form_errors, role_required
from organisation.models import Union, User
from organisation.selectors import scoped, scoped_get_or_404

OFFICE = (User.Role.OFFICE_STAFF,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _office(request: HttpRequest) -> Union:
    if request.user.union_id is None:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    return payments.office_of(request.user.union)


def _attachment(response: HttpResponse, filename: str, fallback: str) -> HttpResponse:
    response["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


# --- the payment part of the roster page --------------------------------------------------------


def roster_payment_context(roster: Roster, user: User) -> dict:
    """What the roster page's payment card shows (used by ``roster_views.roster_detail``)."""
    dues = payments.roster_dues(roster)
    may_record = user.role == User.Role.OFFICE_STAFF and roster.status == Roster.Status.APPROVED
    payers = payments.payer_choices(roster) if may_record else []
    return {
        "dues": dues,
        "dues_outstanding": payments.dues_outstanding(dues),
        "ledger": payments.roster_ledger(roster),
        "receipt_form": ReceiptForm(payers=payers) if payers else None,
    }


def _confirm(request: HttpRequest, *, preview: dict, action: str, back: str) -> HttpResponse:
    return render(
        request,
        "enrollment/payments/receipt_confirm.html",
        {"preview": preview, "action": action, "back": back, "posted": request.POST},
    )


@role_required(*OFFICE)
@require_POST
def roster_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a receipt for a roster: the first post shows what it will do, the second (with
    ``confirm``) records it."""
    roster = scoped_get_or_404(
        request.user, Roster.objects.select_related("union", "plan_version__plan"), pk=pk
    )
    form = ReceiptForm(request.POST, payers=payments.payer_choices(roster))
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("enrollment:roster_detail", pk=pk)
    data = form.cleaned_data
    kwargs = {
        "roster": roster,
        "payer_key": data["payer"],
        "amount": data["amount"],
        "received_on": data["received_on"],
        "reference": data["reference"],
    }
    try:
        if request.POST.get("confirmed") != "yes":
            preview = payments.receipt_preview(**kwargs)
            return _confirm(
                request,
                preview={
                    "what": roster,
                    "payer": preview.payer,
                    "amount": preview.amount,
                    "outstanding_before": preview.outstanding_before,
                    "outstanding_after": preview.outstanding_after,
                    "total_after": preview.roster_outstanding_after,
                    "completes": preview.completes,
                    "people": roster.rows_valid,
                },
                action=request.path,
                back=reverse("enrollment:roster_detail", args=[pk]),
            )
        payments.receipt_record(user=request.user, **kwargs)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect("enrollment:roster_detail", pk=pk)
    messages.success(request, _("The receipt was recorded."))
    return redirect("enrollment:roster_detail", pk=pk)


# --- subsidy statements ------------------------------------------------------------------------


def _statements(request: HttpRequest):
    return scoped(request.user, SubsidyStatement.objects.all(), union_field="office")


@role_required(*OFFICE)
@require_GET
def statement_list(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    rows = [
        {"statement": s, "received": payments.statement_received(s)}
        for s in _statements(request).select_related("created_by")[:200]
    ]
    return render(
        request,
        "enrollment/payments/statement_list.html",
        {"rows": rows, "form": StatementForm(givers=statements.subsidy_givers(office))},
    )


@role_required(*OFFICE)
@require_POST
def statement_create(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    form = StatementForm(request.POST, givers=statements.subsidy_givers(office))
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("enrollment:statement_list")
    data = form.cleaned_data
    try:
        statement = statements.statement_create(
            office=office,
            giver=data["giver"],
            start=data["period_start"],
            end=data["period_end"],
            user=request.user,
        )
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect("enrollment:statement_list")
    return redirect("enrollment:statement_detail", pk=statement.pk)


@role_required(*OFFICE)
@require_GET
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = scoped_get_or_404(request.user, _statements(request), "office", pk=pk)
    outstanding = statements.statement_outstanding(statement)
    return render(
        request,
        "enrollment/payments/statement_detail.html",
        {
            "statement": statement,
            "rows": statements.statement_rows(statement),
            "receipts": statement.receipts.select_related("recorded_by"),
            "outstanding": outstanding,
            "form": StatementReceiptForm(initial={"amount": outstanding}) if outstanding else None,
        },
    )


@role_required(*OFFICE)
@require_POST
def statement_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    statement = scoped_get_or_404(request.user, _statements(request), "office", pk=pk)
    form = StatementReceiptForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("enrollment:statement_detail", pk=pk)
    data = form.cleaned_data
    kwargs = {
        "statement": statement,
        "amount": data["amount"],
        "received_on": data["received_on"],
        "reference": data["reference"],
    }
    try:
        if request.POST.get("confirmed") != "yes":
            preview = statements.statement_receipt_preview(**kwargs)
            preview["what"] = statement
            preview["total_after"] = preview["outstanding_after"]
            preview["completes"] = preview["outstanding_after"] == 0
            back = reverse("enrollment:statement_detail", args=[pk])
            return _confirm(request, preview=preview, action=request.path, back=back)
        statements.statement_receipt_record(user=request.user, **kwargs)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect("enrollment:statement_detail", pk=pk)
    messages.success(request, _("The receipt was recorded."))
    return redirect("enrollment:statement_detail", pk=pk)


@role_required(*OFFICE)
@require_GET
def statement_download(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    statement = scoped_get_or_404(request.user, _statements(request), "office", pk=pk)
    if kind == "pdf":
        body, content_type, ext = statements.statement_pdf(statement), "application/pdf", "pdf"
    elif kind == "xlsx":
        body, content_type, ext = statements.statement_xlsx(statement), XLSX, "xlsx"
    else:
        from django.http import Http404

        raise Http404
    audit.record(audit.Action.DOWNLOAD, obj=statement, note=f"subsidy_statement_{kind}")
    response = FileResponse(io.BytesIO(body), content_type=content_type)
    return _attachment(
        response, f"补贴结算单-{statement.number}.{ext}", f"statement-{statement.pk}.{ext}"
    )


# --- the receipts ledger -----------------------------------------------------------------------


def _receipts(request: HttpRequest):
    return (
        scoped(request.user, Receipt.objects.all(), union_field="office")
        .select_related("roster__union", "statement", "recorded_by")
        .order_by("-received_on", "-pk")
    )


@role_required(*OFFICE)
@require_GET
def receipt_list(request: HttpRequest) -> HttpResponse:
    receipts = _receipts(request)
    return render(
        request,
        "enrollment/payments/receipt_list.html",
        {
            "receipts": receipts[:500],
            "total": receipts.aggregate(total=Sum("amount"))["total"],
            "count": receipts.count(),
        },
    )


RECEIPT_HEADERS = (
    "到账日期",
    "出资方",
    "单位",
    "名单或结算单",
    "金额（元）",
    "银行流水号",
    "登记人",
)


@role_required(*OFFICE)
@require_GET
def receipt_export(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from enrollment.documents import fee_notice_number

    book = Workbook(write_only=True)
    sheet = book.create_sheet("到账记录")
    sheet.append(list(RECEIPT_HEADERS))

    def formatted(value: object, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell

    count = 0
    for r in _receipts(request).iterator(chunk_size=1000):
        what = r.statement.number if r.statement_id else fee_notice_number(r.roster)
        unit = r.roster.union.name if r.roster_id else ""
        sheet.append(
            [
                formatted(r.received_on, DATE_FORMAT),
                neutralise(r.payer_label),
                neutralise(unit),
                neutralise(what),
                formatted(r.amount, AMOUNT_FORMAT),
                neutralise(r.reference),
                neutralise(r.recorded_by.display_name),
            ]
        )
        count += 1
    out = io.BytesIO()
    book.save(out)
    audit.record(audit.Action.DOWNLOAD, object_type="receipt", count=count, note="receipts_export")
    response = FileResponse(io.BytesIO(out.getvalue()), content_type=XLSX)
    return _attachment(response, "到账记录.xlsx", "receipts.xlsx")


# --- the office's bank account -----------------------------------------------------------------


@role_required(*OFFICE)
@require_http_methods(["GET", "POST"])
def bank_account(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    account = OfficeBankAccount.objects.filter(office=office).first()
    form = BankAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.office = office
        saved.updated_by = request.user
        saved.save()
        messages.success(request, _("The receiving bank account was saved."))
        return redirect("enrollment:bank_account")
    return render(
        request, "enrollment/payments/bank_account.html", {"form": form, "office": office}
    )
