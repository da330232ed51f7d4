"""Payment pages: batches and their bank workbook, the bank's confirmation, transfers the bank
returned, and the payee's corrected account.

Every object is fetched through the scoping selectors: another office's batch or another
union's claim is a 404.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from claims import services
from claims.forms import BatchPaidForm, PayeeForm, TransferReturnForm, posted_ids
from claims.models import PaymentBatch, Payout, Transfer
from claims.views import OFFICE, XLSX, _claim
from mutualaid.auditlog import audit
from organisation.decorators import role_required
from organisation.models import User
from organisation.selectors import scoped, scoped_get_or_404


def _due_payouts(user: User):
    return scoped(user, Payout.objects.select_related("claim"), "claim__union").filter(
        status=Payout.Status.DUE, batch__isnull=True
    )


def _failed_payouts(user: User):
    return scoped(user, Payout.objects.select_related("claim"), "claim__union").filter(
        status=Payout.Status.FAILED
    )


@role_required(*OFFICE)
@require_http_methods(["GET", "POST"])
def batch_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        ids = posted_ids(request.POST.getlist("payout"))
        try:
            batch = services.batch_create(
                user=request.user, payouts=_due_payouts(request.user).filter(pk__in=ids)
            )
        except services.ClaimError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("claims:batch_detail", pk=batch.pk)
    batches = scoped(request.user, PaymentBatch.objects.all(), "office")
    return render(
        request,
        "claims/batch_list.html",
        {
            "due": _due_payouts(request.user).order_by("created_at")[:500],
            "failed": _failed_payouts(request.user).order_by("created_at")[:500],
            "batches": batches[:100],
        },
    )


def _batch(request: HttpRequest, pk: int) -> PaymentBatch:
    return scoped_get_or_404(request.user, PaymentBatch.objects.all(), "office", pk=pk)


def _totals(batch: PaymentBatch, transfers: list[Transfer]) -> dict:
    def total(status: str) -> tuple[int, Decimal]:
        chosen = [t.amount for t in transfers if t.status == status]
        return len(chosen), sum(chosen, Decimal("0.00"))

    return {
        "sent": (
            len([t for t in transfers if t.status != Transfer.Status.CANCELLED]),
            batch.total,
        ),
        "paid": total(Transfer.Status.PAID),
        "returned": total(Transfer.Status.RETURNED),
        "waiting": total(Transfer.Status.SENT),
    }


@role_required(*OFFICE)
@require_http_methods(["GET"])
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    transfers = list(
        batch.transfers.select_related("payout__claim").order_by("payout__claim__number", "pk")
    )
    return render(
        request,
        "claims/batch_detail.html",
        {
            "batch": batch,
            "transfers": transfers,
            "totals": _totals(batch, transfers),
            "paid_form": BatchPaidForm(),
            "can_return": batch.status in (PaymentBatch.Status.EXPORTED, PaymentBatch.Status.PAID),
        },
    )


@role_required(*OFFICE)
@require_http_methods(["GET"])
def batch_export(request: HttpRequest, pk: int) -> HttpResponse:
    from claims.notices import bank_transfer_workbook

    batch = _batch(request, pk)
    # The file is built first: a batch is only marked exported once its file exists.
    data = bank_transfer_workbook(batch)
    try:
        services.batch_mark_exported(batch=batch, user=request.user)
    except services.ClaimError as exc:
        messages.error(request, str(exc))
        return redirect("claims:batch_detail", pk=batch.pk)
    audit.record(
        audit.Action.DOWNLOAD,
        obj=batch,
        count=batch.transfers.exclude(status=Transfer.Status.CANCELLED).count(),
        note="bank_file",
    )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{batch.number}.xlsx"'
    return response


@role_required(*OFFICE)
@require_POST
def batch_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    batch = _batch(request, pk)
    actions = {"cancel": services.batch_cancel}
    if action not in actions:
        raise Http404
    try:
        actions[action](batch=batch, user=request.user)
    except services.ClaimError as exc:
        messages.error(request, str(exc))
    return redirect("claims:batch_detail", pk=batch.pk)


@role_required(*OFFICE)
@require_http_methods(["GET", "POST"])
def batch_paid(request: HttpRequest, pk: int) -> HttpResponse:
    """The bank has paid: the date and the bank's reference, then one confirmation showing the
    transfers, their total, the date and the reference; only then is the batch paid."""
    batch = _batch(request, pk)
    form = BatchPaidForm(request.POST or None, batch=batch)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirmed") == "yes":
            try:
                services.batch_confirm_paid(
                    batch=batch,
                    user=request.user,
                    paid_on=form.cleaned_data["paid_on"],
                    bank_reference=form.cleaned_data["bank_reference"],
                )
            except services.ClaimError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The batch is recorded as paid by the bank."))
                return redirect("claims:batch_detail", pk=batch.pk)
        else:
            return render(
                request,
                "claims/batch_paid_confirm.html",
                {"batch": batch, "form": form, "preview": form.preview},
            )
    return render(request, "claims/batch_paid.html", {"batch": batch, "form": form})


@role_required(*OFFICE)
@require_http_methods(["GET", "POST"])
def transfer_return(request: HttpRequest, pk: int, transfer_pk: int) -> HttpResponse:
    """One transfer of the batch came back from the bank: why, in the bank's words."""
    batch = _batch(request, pk)
    try:
        transfer = batch.transfers.select_related("payout__claim").get(pk=transfer_pk)
    except Transfer.DoesNotExist:
        raise Http404 from None
    form = TransferReturnForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_return(
                transfer=transfer,
                user=request.user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except services.ClaimError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _(
                    "The payment is marked returned. Once the payee's account is corrected on "
                    "the claim, it goes into the next batch."
                ),
            )
            return redirect("claims:batch_detail", pk=batch.pk)
    return render(
        request,
        "claims/transfer_return.html",
        {"batch": batch, "transfer": transfer, "form": form},
    )


@role_required(User.Role.CLERK, User.Role.OFFICE_STAFF)
@require_http_methods(["GET", "POST"])
def claim_payee(request: HttpRequest, pk: int) -> HttpResponse:
    """The payee's corrected name and account after the bank returned a payment."""
    claim = _claim(request, pk)
    failed = services.failed_payouts(claim)
    form = PayeeForm(request.POST or None, initial={"payee_name": claim.payee_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.payee_correct(
                claim=claim,
                user=request.user,
                payee_name=form.cleaned_data["payee_name"],
                payee_account=form.cleaned_data["payee_account"],
            )
        except services.ClaimError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("The account is corrected; the payment goes into the next batch.")
            )
            return redirect("claims:claim_detail", pk=claim.pk)
    return render(
        request,
        "claims/claim_payee.html",
        {"claim": claim, "failed": failed, "form": form},
    )
