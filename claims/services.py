"""Writes for claims: report, documents, the state machine, decisions, batches, assistance.

Every state change takes a row lock on the claim first (``_lock``), checks the transition
against ``TRANSITIONS`` and appends an event, so two staff acting at once are served one after
the other and the second one is told the claim has moved on.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimDocument, ClaimEvent, PaymentBatch, Payout, Transfer
from claims.repeats import earlier_payouts, lock_member, open_claims_of_member, paid_before
from claims.uploads import CheckedDocument, DocumentRefused, inspect_document
from enrollment.models import Enrollment
from mutualaid import event_notes
from mutualaid.auditlog import audit
from mutualaid.outbox import jobs
from organisation.models import User

S = Claim.Status

# Which status may follow which. Anything else is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.REPORTED: (S.REVIEWING, S.RETURNED, S.WITHDRAWN, S.INVESTIGATING),
    S.RETURNED: (S.REVIEWING, S.WITHDRAWN),
    S.REVIEWING: (S.INVESTIGATING, S.RETURNED, S.APPROVED, S.REJECTED),
    S.INVESTIGATING: (S.REVIEWING, S.RETURNED),
    S.APPROVED: (S.PAID,),
    S.REJECTED: (),
    # Only when the bank returns the payment after the batch was confirmed paid.
    S.PAID: (S.APPROVED,),
    S.WITHDRAWN: (),
}
STAFF_MOVES = {S.INVESTIGATING, S.REVIEWING, S.RETURNED}
DECIDED = (S.APPROVED, S.REJECTED, S.PAID, S.WITHDRAWN)


class ClaimError(Exception):
    """An action the claim's state or the input does not allow; the message is for the user."""


def _lock(claim_id: int) -> Claim:
    """The one place claims are locked for a change (see the module's docstring)."""
    return Claim.objects.select_for_update().get(pk=claim_id)


def _move(claim: Claim, to: str, actor: User | None, note: str = "") -> None:
    if to not in TRANSITIONS[claim.status]:
        raise ClaimError(
            _(
                "A claim that is “%(now)s” cannot become “%(to)s”. Reload the page: someone may "
                "have acted on it meanwhile."
            )
            % {"now": claim.get_status_display(), "to": S(to).label}
        )
    ClaimEvent.objects.create(
        claim=claim, from_status=claim.status, to_status=to, actor=actor, note=note
    )
    claim.status = to


# --- report and documents ----------------------------------------------------------------------


def _next_number() -> str:
    return f"LP{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:8].upper()}"


@transaction.atomic
def claim_report(
    *,
    user: User,
    enrollment: Enrollment,
    benefit: str,
    facts: dict,
    event_date: datetime.date,
    payee_name: str,
    payee_account: str,
) -> Claim:
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise ClaimError(_("Claims can only be reported on active, paid cover."))
    if enrollment.plan_version.parsed_rules.benefit(benefit) is None:
        raise ClaimError(_("This benefit is not part of the member's plan."))
    if not enrollment.coverage_start <= event_date <= enrollment.coverage_end:
        raise ClaimError(
            _("The event date is outside the member's coverage period (%(start)s – %(end)s).")
            % {"start": enrollment.coverage_start, "end": enrollment.coverage_end}
        )
    claim = Claim.objects.create(
        number=_next_number(),
        enrollment=enrollment,
        union=enrollment.union,
        benefit=benefit,
        event_date=event_date,
        facts=facts,
        payee_name=payee_name.strip(),
        payee_account=payee_account.strip(),
        reported_by=user,
    )
    ClaimEvent.objects.create(claim=claim, to_status=S.REPORTED, actor=user)
    return claim


def required_documents(claim: Claim) -> list[tuple[str, str]]:
    benefit = claim.enrollment.plan_version.parsed_rules.benefit(claim.benefit)
    return [(d.code, d.label) for d in benefit.documents] if benefit else []


def missing_documents(claim: Claim) -> list[tuple[str, str]]:
    have = set(claim.documents.values_list("requirement", flat=True))
    return [(code, label) for code, label in required_documents(claim) if code not in have]


def _document_allowed(claim: Claim, requirement: str) -> None:
    if claim.status not in (S.REPORTED, S.RETURNED, S.REVIEWING, S.INVESTIGATING):
        raise ClaimError(_("Documents can no longer be added to this claim."))
    if requirement not in dict(required_documents(claim)):
        raise ClaimError(_("Choose which required document this file is."))


def claim_document_add(
    *, claim: Claim, user: User, requirement: str, upload: UploadedFile
) -> ClaimDocument:
    """Store a supporting document once its content has been checked (``claims.uploads``):
    pictures are stored re-encoded, PDFs as uploaded, and a refused file leaves nothing."""
    _document_allowed(claim, requirement)
    limit = settings.CLAIM_DOCUMENT_MAX_MB * 1024 * 1024
    if not upload.size:
        raise ClaimError(_("The file is empty."))
    if upload.size > limit:
        raise ClaimError(
            _("The file is larger than %(mb)s MB.") % {"mb": settings.CLAIM_DOCUMENT_MAX_MB}
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    # Decoding a picture or walking a PDF takes a moment: done before the claim is locked.
    try:
        checked = inspect_document(data)
    except DocumentRefused as exc:
        raise ClaimError(str(exc)) from None
    return _document_store(
        claim_id=claim.pk,
        user=user,
        requirement=requirement,
        name=upload.name or "",
        checked=checked,
    )


@transaction.atomic
def _document_store(
    *, claim_id: int, user: User, requirement: str, name: str, checked: CheckedDocument
) -> ClaimDocument:
    claim = _lock(claim_id)
    _document_allowed(claim, requirement)
    document = ClaimDocument(
        claim=claim,
        requirement=requirement,
        original_name=name[:255],
        content_type=checked.kind,
        size=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
        uploaded_by=user,
    )
    document.file.save("document", ContentFile(checked.data), save=False)
    try:
        document.save()
        _after_documents_change(claim, user)
    except BaseException:
        # The row is rolled back with the transaction; the file would stay behind.
        document.file.storage.delete(document.file.name)
        raise
    return document


def _after_documents_change(claim: Claim, user: User) -> None:
    """A claim whose checklist is complete goes to review, with its due date and proposal."""
    from claims.workdays import due_date

    if missing_documents(claim) or claim.status not in (S.REPORTED, S.RETURNED):
        return
    now = timezone.now()
    due = due_date(timezone.localtime(now).date(), settings.CLAIM_DUE_WORKING_DAYS)
    claim.completed_at = now
    claim.due_date = due.date
    claim.due_basis = due.basis
    _move(claim, S.REVIEWING, user, event_notes.encode("documents_complete"))
    claim.save()
    jobs.enqueue(
        "claims.tasks.claim_propose",
        claim.pk,
        subject=f"claim:{claim.pk}",
        union_id=claim.union_id,
    )


# --- the engine's proposal ------------------------------------------------------------------------


def prior_payouts(claim: Claim) -> list:
    """Earlier money paid or approved on the same enrollment, for the engine's caps and counts,
    and on the member's other cover in the same plan, so that one stay is not paid twice
    (``claims.repeats``)."""
    return [prior for _, prior in earlier_payouts(claim)]


def claim_facts(claim: Claim):
    from plans.engine.payout import facts_from_json

    data = dict(claim.facts or {})
    data["benefit"] = claim.benefit
    data.setdefault("filed_date", timezone.localtime(claim.reported_at).date().isoformat())
    return facts_from_json(data)


def claim_propose_run(*, claim_id: int) -> None:
    """The worker's half: the engine's decision and lines, stored for staff to see."""
    from plans.engine.payout import decide

    claim = Claim.objects.select_related("enrollment__plan_version").get(pk=claim_id)
    enrollment = claim.enrollment
    decision = decide(
        enrollment.plan_version.parsed_rules,
        coverage_start=enrollment.coverage_start,
        shares=enrollment.shares,
        facts=claim_facts(claim),
        prior=prior_payouts(claim),
    )
    proposal = decision.as_json()
    proposal["flags"] = list(decision.flags)
    # The accident base that applied, for the per-period cap of later accident claims.
    proposal["applied_base"] = (
        str(decision.applied_base) if decision.applied_base is not None else None
    )
    earlier = paid_before(claim)
    # Which claim paid this stay or event before, for staff to look at.
    proposal["paid_before"] = earlier.number if earlier is not None else None
    with transaction.atomic():
        claim = _lock(claim_id)
        if claim.status in DECIDED:
            # A decided claim keeps the proposal it was decided on.
            return
        claim.proposal = proposal
        claim.proposed_amount = decision.amount
        claim.save(update_fields=["proposal", "proposed_amount"])


# --- staff actions ------------------------------------------------------------------------------


@transaction.atomic
def claim_move(*, claim: Claim, user: User, to: str, note: str = "") -> Claim:
    claim = _lock(claim.pk)
    if to not in STAFF_MOVES:
        raise ClaimError(_("That step is not taken by hand."))
    if to == S.RETURNED and not note.strip():
        raise ClaimError(_("Say which documents are missing, so the unit can send them."))
    if to == S.REVIEWING and claim.status == S.RETURNED and missing_documents(claim):
        raise ClaimError(_("Documents are still missing."))
    _move(claim, to, user, note.strip())
    claim.save()
    return claim


@transaction.atomic
def claim_withdraw(*, claim: Claim, user: User) -> Claim:
    claim = _lock(claim.pk)
    _move(claim, S.WITHDRAWN, user)
    claim.save()
    return claim


def check_decision(
    *,
    claim: Claim,
    approve: bool,
    amount: Decimal | None,
    reasons: Iterable[str] = (),
    override_reason: str = "",
) -> tuple[bool, Decimal | None, list[str]]:
    """Whether the decision may be recorded as given: whether it follows the engine's proposal,
    the amount and the reasons kept. Used by the decision itself and by its confirmation page,
    so the page never asks to confirm what would be refused."""
    from plans.engine.payout import REASONS

    if claim.status != S.REVIEWING:
        raise ClaimError(
            _(
                "Only a claim under review can be decided. Reload the page: someone "
                "may have decided it meanwhile."
            )
        )
    proposal = claim.proposal or {}
    override_reason = override_reason.strip()
    if approve:
        if amount is None or amount <= 0:
            raise ClaimError(_("Enter the amount to pay."))
        follows = proposal.get("decision") == "pay" and Decimal(proposal["amount"]) == amount
        earlier = paid_before(claim)
        if earlier is not None:
            follows = False
            if not override_reason:
                raise ClaimError(
                    _(
                        "This stay or event was already paid or approved on claim %(number)s "
                        "of the same member and plan. Paying it again needs a written reason."
                    )
                    % {"number": earlier.number}
                )
        reasons = []
    else:
        reasons = [r for r in reasons if r in REASONS]
        if not reasons:
            raise ClaimError(_("Choose at least one reason for the rejection."))
        follows = proposal.get("decision") == "reject"
        amount = None
    if not follows and not override_reason:
        raise ClaimError(_("The decision differs from the proposal: write why."))
    return follows, amount, list(reasons)


@transaction.atomic
def claim_decide(
    *,
    claim: Claim,
    user: User,
    approve: bool,
    amount: Decimal | None,
    reasons: Iterable[str] = (),
    override_reason: str = "",
) -> Claim:
    """Approve with an amount or reject with reason codes. Departing from the engine's proposal
    needs a written reason, which is kept with the decision."""
    claim = _lock(claim.pk)
    # One decision on the member at a time: the proposal may predate an approval of the same
    # stay on other cover, checked again now.
    if approve:
        lock_member(claim)
    follows, amount, reasons = check_decision(
        claim=claim,
        approve=approve,
        amount=amount,
        reasons=reasons,
        override_reason=override_reason,
    )
    override_reason = override_reason.strip()
    claim.approved_amount = amount
    claim.reject_reasons = [] if approve else list(reasons)
    claim.override_reason = "" if follows else override_reason
    claim.decided_by = user
    claim.decided_at = timezone.now()
    _move(claim, S.APPROVED if approve else S.REJECTED, user, claim.override_reason)
    claim.save()
    if approve:
        Payout.objects.create(
            claim=claim,
            kind=Payout.Kind.PRIMARY,
            amount=amount,
            payee_name=claim.payee_name,
            payee_account=claim.payee_account,
            granted_by=user,
        )
    jobs.enqueue(
        "claims.tasks.claim_notice",
        claim.pk,
        subject=f"claim:{claim.pk}",
        union_id=claim.union_id,
    )
    if approve:
        # Proposals on the member's other open claims may now pay this event again.
        for other in open_claims_of_member(claim):
            jobs.enqueue(
                "claims.tasks.claim_propose",
                other.pk,
                subject=f"claim:{other.pk}",
                union_id=other.union_id,
            )
    return claim


@transaction.atomic
def secondary_assistance_grant(*, claim: Claim, user: User, amount: Decimal, reason: str) -> Payout:
    claim = _lock(claim.pk)
    if claim.status != S.PAID:
        raise ClaimError(_("Secondary assistance is granted on a paid claim."))
    if amount is None or amount <= 0:
        raise ClaimError(_("Enter the amount of the assistance."))
    if not reason.strip():
        raise ClaimError(_("Write why the member receives secondary assistance."))
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                claim=claim,
                kind=Payout.Kind.SECONDARY,
                amount=amount,
                reason=reason.strip(),
                payee_name=claim.payee_name,
                payee_account=claim.payee_account,
                granted_by=user,
            )
    except IntegrityError as exc:
        raise ClaimError(_("This claim already has secondary assistance.")) from exc
    ClaimEvent.objects.create(
        claim=claim,
        from_status=claim.status,
        to_status=claim.status,
        actor=user,
        note=event_notes.encode("secondary", amount=str(amount), reason=reason.strip()),
    )
    return payout


# --- payment batches ----------------------------------------------------------------------------
#
# Locks are always taken in the same order: batch, then its transfers and payouts (by id), then
# claims (by id), so two members of staff acting at once wait for each other, never deadlock.


@transaction.atomic
def batch_create(*, user: User, payouts: Iterable[Payout]) -> PaymentBatch:
    ids = [p.pk for p in payouts]
    # Locked in id order, the same order every time, so two batches being made at once wait
    # for each other instead of deadlocking.
    locked = list(Payout.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    usable = [p for p in locked if p.status == Payout.Status.DUE and p.batch_id is None]
    if not usable:
        raise ClaimError(_("None of the chosen payments is still waiting for a batch."))
    batch = PaymentBatch.objects.create(
        number=f"PB{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:6].upper()}",
        office=user.union,
        created_by=user,
        total=sum((p.amount for p in usable), Decimal("0.00")),
    )
    # What is sent, to which account: kept as it is even if the account changes later. The
    # database refuses a second live transfer of a payout (``transfer_one_live_per_payout``).
    Transfer.objects.bulk_create(
        Transfer(
            batch=batch,
            payout=p,
            amount=p.amount,
            payee_name=p.payee_name,
            payee_account=p.payee_account,
        )
        for p in usable
    )
    added = Payout.objects.filter(pk__in=[p.pk for p in usable]).update(
        batch=batch, status=Payout.Status.BATCHED
    )
    _batch_audit(batch, added, "batch_added")
    return batch


def _batch_audit(batch: PaymentBatch, count: int, note: str, **params) -> None:
    audit.record_bulk(
        object_type="payout",
        count=count,
        note=note,
        params={"batch": batch.number, **params},
        label=batch.number,
        union_id=batch.office_id,
        trail=f"batch:{batch.pk}",
    )


def _lock_batch(batch_id: int) -> PaymentBatch:
    return PaymentBatch.objects.select_for_update().get(pk=batch_id)


@transaction.atomic
def batch_mark_exported(*, batch: PaymentBatch, user: User) -> PaymentBatch:
    batch = _lock_batch(batch.pk)
    if batch.status not in (PaymentBatch.Status.OPEN, PaymentBatch.Status.EXPORTED):
        raise ClaimError(_("This batch is closed."))
    batch.status = PaymentBatch.Status.EXPORTED
    batch.exported_at = batch.exported_at or timezone.now()
    batch.save(update_fields=["status", "exported_at"])
    return batch


def clean_bank_reference(value: str) -> str:
    """The bank's reference as typed, without surrounding spaces; refused when empty, too long
    or holding control characters."""
    value = (value or "").strip()
    if not value:
        raise ClaimError(_("Enter the bank's reference for this payment."))
    if len(value) > 64 or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ClaimError(_("The bank's reference is at most 64 characters of plain text."))
    return value


def check_paid_on(batch: PaymentBatch, paid_on: datetime.date | None) -> None:
    """The day the bank paid: not in the future and not before the bank file was exported."""
    if paid_on is None:
        raise ClaimError(_("Enter the date the bank paid."))
    if paid_on > timezone.localdate():
        raise ClaimError(_("The date paid cannot be in the future."))
    if batch.exported_at and paid_on < timezone.localtime(batch.exported_at).date():
        raise ClaimError(
            _("The date paid cannot be before the bank file was exported (%(day)s).")
            % {"day": timezone.localtime(batch.exported_at).date().isoformat()}
        )


def _reference_used(batch: PaymentBatch, reference: str) -> bool:
    return (
        PaymentBatch.objects.filter(office_id=batch.office_id, bank_reference=reference)
        .exclude(pk=batch.pk)
        .exists()
    )


def _reference_used_error(reference: str) -> ClaimError:
    return ClaimError(
        _("The bank reference %(reference)s is already recorded on another batch.")
        % {"reference": reference}
    )


def batch_paid_preview(
    *, batch: PaymentBatch, paid_on: datetime.date | None, bank_reference: str
) -> dict:
    """What confirming the batch paid will do, checked as the confirmation itself checks it:
    the transfers to be paid, their total and those the bank returned."""
    if batch.status != PaymentBatch.Status.EXPORTED:
        raise ClaimError(_("Export the bank file before confirming the batch paid."))
    reference = clean_bank_reference(bank_reference)
    check_paid_on(batch, paid_on)
    if _reference_used(batch, reference):
        raise _reference_used_error(reference)
    transfers = list(batch.transfers.all())
    sent = [t for t in transfers if t.status == Transfer.Status.SENT]
    returned = [t for t in transfers if t.status == Transfer.Status.RETURNED]
    return {
        "paid_on": paid_on,
        "bank_reference": reference,
        "count": len(sent),
        "total": sum((t.amount for t in sent), Decimal("0.00")),
        "returned_count": len(returned),
        "returned_total": sum((t.amount for t in returned), Decimal("0.00")),
    }


@transaction.atomic
def batch_confirm_paid(
    *, batch: PaymentBatch, user: User, paid_on: datetime.date, bank_reference: str
) -> PaymentBatch:
    """The bank has paid the batch on ``paid_on`` under ``bank_reference``: every transfer
    still in it is paid, once; the transfers it returned stay returned."""
    batch = _lock_batch(batch.pk)
    if batch.status != PaymentBatch.Status.EXPORTED:
        raise ClaimError(
            _(
                "Only an exported batch can be confirmed paid. Reload the page: someone may "
                "have confirmed or cancelled it meanwhile."
            )
        )
    reference = clean_bank_reference(bank_reference)
    check_paid_on(batch, paid_on)
    if _reference_used(batch, reference):
        raise _reference_used_error(reference)
    now = timezone.now()
    transfers = list(
        batch.transfers.select_for_update().filter(status=Transfer.Status.SENT).order_by("pk")
    )
    payouts = list(
        Payout.objects.select_for_update()
        .filter(pk__in=[t.payout_id for t in transfers])
        .order_by("pk")
    )
    for payout in payouts:
        if payout.status != Payout.Status.BATCHED or payout.batch_id != batch.pk:
            raise ClaimError(_("Payment %(id)s is not waiting in this batch.") % {"id": payout.pk})
    Transfer.objects.filter(pk__in=[t.pk for t in transfers]).update(status=Transfer.Status.PAID)
    paid = Payout.objects.filter(pk__in=[p.pk for p in payouts]).update(
        status=Payout.Status.PAID, paid_at=now
    )
    _batch_audit(batch, paid, "batch_paid")
    primary = [p.claim_id for p in payouts if p.kind == Payout.Kind.PRIMARY]
    for claim in Claim.objects.select_for_update().filter(pk__in=primary).order_by("pk"):
        _move(claim, S.PAID, user, f"{batch.number} · {reference}")
        claim.paid_at = now
        claim.save(update_fields=["status", "paid_at"])
    batch.status = PaymentBatch.Status.PAID
    batch.paid_at, batch.paid_by = now, user
    batch.paid_on, batch.bank_reference = paid_on, reference
    try:
        with transaction.atomic():
            batch.save(update_fields=["status", "paid_at", "paid_by", "paid_on", "bank_reference"])
    except IntegrityError as exc:
        # Another batch took the same reference at the same moment.
        raise _reference_used_error(reference) from exc
    return batch


@transaction.atomic
def batch_cancel(*, batch: PaymentBatch, user: User) -> PaymentBatch:
    batch = _lock_batch(batch.pk)
    if batch.status not in (PaymentBatch.Status.OPEN, PaymentBatch.Status.EXPORTED):
        raise ClaimError(_("A paid batch cannot be cancelled."))
    batch.transfers.filter(status=Transfer.Status.SENT).update(status=Transfer.Status.CANCELLED)
    released = batch.payouts.update(batch=None, status=Payout.Status.DUE)
    _batch_audit(batch, released, "batch_released")
    batch.status = PaymentBatch.Status.CANCELLED
    batch.save(update_fields=["status"])
    return batch


# --- transfers the bank returned --------------------------------------------------------------


@transaction.atomic
def transfer_return(*, transfer: Transfer, user: User, reason: str, note: str = "") -> Transfer:
    """The bank returned this transfer (wrong account, closed card…): the line is kept as
    returned with the reason, and the payout waits, failed, for its account to be corrected.
    A return after the batch was confirmed paid takes the payment back off the claim."""
    batch = _lock_batch(transfer.batch_id)
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk, batch=batch)
    note = " ".join((note or "").split())[:200]
    if reason not in Transfer.Reason.values:
        raise ClaimError(_("Choose why the bank returned the payment."))
    if reason == Transfer.Reason.OTHER and not note:
        raise ClaimError(_("Write the bank's reason for the return."))
    if batch.status not in (PaymentBatch.Status.EXPORTED, PaymentBatch.Status.PAID):
        raise ClaimError(_("Only a payment sent to the bank can be returned by it."))
    if transfer.status not in (Transfer.Status.SENT, Transfer.Status.PAID):
        raise ClaimError(
            _(
                "This payment is already marked returned. Reload the page: someone may have "
                "marked it meanwhile."
            )
        )
    # The claim before its payout, as the account correction locks them.
    claim = _lock(Payout.objects.values_list("claim_id", flat=True).get(pk=transfer.payout_id))
    payout = Payout.objects.select_for_update().get(pk=transfer.payout_id)
    was_paid = transfer.status == Transfer.Status.PAID
    transfer.status = Transfer.Status.RETURNED
    transfer.return_reason = reason
    transfer.return_note = note
    transfer.returned_at, transfer.returned_by = timezone.now(), user
    transfer.save()
    payout.status = Payout.Status.FAILED
    payout.batch = None
    payout.paid_at = None
    payout.save(update_fields=["status", "batch", "paid_at"])
    text = _("Payment returned by the bank (%(batch)s): %(reason)s") % {
        "batch": batch.number,
        "reason": transfer.reason_text,
    }
    if was_paid and payout.kind == Payout.Kind.PRIMARY and claim.status == S.PAID:
        _move(claim, S.APPROVED, user, text)
        claim.paid_at = None
        claim.save(update_fields=["status", "paid_at"])
    else:
        ClaimEvent.objects.create(
            claim=claim, from_status=claim.status, to_status=claim.status, actor=user, note=text
        )
    return transfer


def failed_payouts(claim: Claim) -> list[Payout]:
    """The claim's payouts the bank returned, each with its last returned transfer."""
    payouts = list(claim.payouts.filter(status=Payout.Status.FAILED).order_by("pk"))
    for payout in payouts:
        payout.last_return = (
            payout.transfers.filter(status=Transfer.Status.RETURNED).order_by("-pk").first()
        )
    return payouts


@transaction.atomic
def payee_correct(*, claim: Claim, user: User, payee_name: str, payee_account: str) -> Claim:
    """The payee's corrected name and account after the bank returned a payment: kept on the
    claim and its returned payouts, which are then due again for a later batch."""
    claim = _lock(claim.pk)
    payouts = list(
        Payout.objects.select_for_update()
        .filter(claim=claim, status=Payout.Status.FAILED)
        .order_by("pk")
    )
    if not payouts:
        raise ClaimError(
            _(
                "No payment of this claim is waiting for a corrected account. Reload the page: "
                "someone may have corrected it meanwhile."
            )
        )
    payee_name, payee_account = payee_name.strip(), payee_account.strip()
    for payout in payouts:
        last = payout.transfers.filter(status=Transfer.Status.RETURNED).order_by("-pk").first()
        unchanged = (
            last is not None
            and last.payee_account == payee_account
            and last.payee_name == payee_name
        )
        if unchanged and last.return_reason in Transfer.ACCOUNT_REASONS:
            raise ClaimError(
                _(
                    "The bank returned the payment sent to this name and account (%(reason)s). "
                    "Enter the corrected name or account."
                )
                % {"reason": last.reason_text}
            )
    claim.payee_name, claim.payee_account = payee_name, payee_account
    claim.save(update_fields=["payee_name", "payee_account"])
    for payout in payouts:
        payout.payee_name, payout.payee_account = payee_name, payee_account
        payout.status = Payout.Status.DUE
        payout.save(update_fields=["payee_name", "payee_account", "status"])
    ClaimEvent.objects.create(
        claim=claim,
        from_status=claim.status,
        to_status=claim.status,
        actor=user,
        note=event_notes.encode("payee_corrected"),
    )
    return claim
