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

from claims.models import Claim, ClaimDocument, ClaimEvent, PaymentBatch, Payout
from claims.repeats import earlier_payouts, lock_member, open_claims_of_member, paid_before
from claims.uploads import CheckedDocument, DocumentRefused, inspect_document
from enrollment.models import Enrollment
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
    S.PAID: (),
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
    _move(claim, S.REVIEWING, user, _("All required documents are in."))
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
    from plans.engine.payout import REASONS

    claim = _lock(claim.pk)
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
        # The proposal may predate an approval of the same stay on other cover: checked again
        # now, one decision on the member at a time.
        lock_member(claim)
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
    else:
        reasons = [r for r in reasons if r in REASONS]
        if not reasons:
            raise ClaimError(_("Choose at least one reason for the rejection."))
        follows = proposal.get("decision") == "reject"
        amount = None
    if not follows and not override_reason:
        raise ClaimError(_("The decision differs from the proposal: write why."))
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
        note=_("Secondary assistance %(amount)s: %(reason)s")
        % {"amount": amount, "reason": reason.strip()},
    )
    return payout


# --- payment batches ----------------------------------------------------------------------------


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
    added = Payout.objects.filter(pk__in=[p.pk for p in usable]).update(
        batch=batch, status=Payout.Status.BATCHED
    )
    _batch_audit(batch, added, "batch_added")
    return batch


def _batch_audit(batch: PaymentBatch, count: int, note: str) -> None:
    audit.record_bulk(
        object_type="payout",
        count=count,
        note=note,
        params={"batch": batch.number},
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


@transaction.atomic
def batch_confirm_paid(*, batch: PaymentBatch, user: User) -> PaymentBatch:
    """The bank has paid the batch: every payout in it is paid, once."""
    batch = _lock_batch(batch.pk)
    if batch.status != PaymentBatch.Status.EXPORTED:
        raise ClaimError(_("Export the bank file before confirming the batch paid."))
    now = timezone.now()
    payouts = list(batch.payouts.select_for_update().order_by("pk"))
    for payout in payouts:
        if payout.status != Payout.Status.BATCHED:
            raise ClaimError(_("Payment %(id)s is not waiting in this batch.") % {"id": payout.pk})
    _batch_audit(batch, batch.payouts.update(status=Payout.Status.PAID, paid_at=now), "batch_paid")
    primary = [p.claim_id for p in payouts if p.kind == Payout.Kind.PRIMARY]
    for claim in Claim.objects.select_for_update().filter(pk__in=primary).order_by("pk"):
        _move(claim, S.PAID, user, batch.number)
        claim.paid_at = now
        claim.save(update_fields=["status", "paid_at"])
    batch.status = PaymentBatch.Status.PAID
    batch.paid_at, batch.paid_by = now, user
    batch.save(update_fields=["status", "paid_at", "paid_by"])
    return batch


@transaction.atomic
def batch_cancel(*, batch: PaymentBatch, user: User) -> PaymentBatch:
    batch = _lock_batch(batch.pk)
    if batch.status not in (PaymentBatch.Status.OPEN, PaymentBatch.Status.EXPORTED):
        raise ClaimError(_("A paid batch cannot be cancelled."))
    released = batch.payouts.update(batch=None, status=Payout.Status.DUE)
    _batch_audit(batch, released, "batch_released")
    batch.status = PaymentBatch.Status.CANCELLED
    batch.save(update_fields=["status"])
    return batch
