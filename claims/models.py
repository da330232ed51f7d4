"""Claims on an enrollment and the append-only history of what happened to each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from mutualaid.fields import EncryptedCharField
from plans.benefits import BENEFIT_LABELS
from plans.engine.identity import mask_bank_card


class Claim(models.Model):
    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        INVESTIGATING = "investigating", _("Investigating")
        REVIEWING = "reviewing", _("Reviewing")
        RETURNED = "returned", _("Returned for documents")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class DueBasis(models.TextChoices):
        OFFICIAL = "official", _("official working days")
        WEEKENDS_ONLY = "weekends_only", _("weekends only (holidays of that year not entered)")

    number = models.CharField(_("claim number"), max_length=32, unique=True)
    enrollment = models.ForeignKey(
        "enrollment.Enrollment",
        verbose_name=_("enrollment"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    # The unit is copied from the enrollment so scoping is one join, and so a member who later
    # moves to another union does not take their old claims with them.
    union = models.ForeignKey(
        "organisation.Union",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    benefit = models.CharField(_("benefit"), max_length=40)
    event_date = models.DateField(_("event date"))
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REPORTED
    )
    payee_name = models.CharField(_("payee"), max_length=30)
    payee_account = EncryptedCharField(_("payee account"), max_length=30)
    proposed_amount = models.DecimalField(
        _("proposed amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    proposal = models.JSONField(_("engine proposal"), default=dict, blank=True)
    override_reason = models.TextField(_("reason for overriding the proposal"), blank=True)
    approved_amount = models.DecimalField(
        _("approved amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    reject_reasons = models.JSONField(_("rejection reasons"), default=list, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("documents complete at"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    due_basis = models.CharField(max_length=16, choices=DueBasis.choices, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    notice = models.FileField(upload_to="claim-notices/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gte=0),
                name="claim_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "paid"]) | Q(approved_amount__isnull=False),
                name="claim_approved_has_amount",
            ),
        ]
        indexes = [
            # The review queue's orderings (due date first; newest first) and its filters.
            models.Index(fields=["due_date", "reported_at", "id"], name="claim_queue_due"),
            models.Index(fields=["reported_at"], name="claim_queue_reported"),
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["union", "status"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def benefit_label(self) -> str:
        return str(BENEFIT_LABELS.get(self.benefit, self.benefit))

    @property
    def payee_account_masked(self) -> str:
        return mask_bank_card(self.payee_account)

    @property
    def payment_failed_text(self) -> str:
        """Why the bank returned the claim's payment, on a claim annotated with
        ``claims.selectors.failed_payment_reason`` as ``failed_reason``; empty if it was not."""
        code = getattr(self, "failed_reason", None)
        return str(Transfer.Reason(code).label) if code in Transfer.Reason.values else ""


class ClaimEvent(models.Model):
    """One step in a claim's life. Rows are only ever added, never changed."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=16, choices=Claim.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Claim.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")

    def __str__(self) -> str:
        return f"{self.claim} {self.from_status} -> {self.to_status}"

    @property
    def note_text(self) -> str:
        """The note in the reader's language (mutualaid.event_notes)."""
        from mutualaid.event_notes import render

        return render(self.note, CLAIM_NOTES)


# What a claim's history notes say, by the key stored with the event (claims.services).
CLAIM_NOTES = {
    "documents_complete": _("All required documents are in."),
    "secondary": _("Secondary assistance %(amount)s: %(reason)s"),
    "payee_corrected": _("Payee account corrected; the payment goes into the next batch."),
}


def _document_path(instance: ClaimDocument, filename: str) -> str:
    # Generated names only: the clerk's file name is kept as a label, never as a path.
    import uuid

    return f"claims/{instance.claim_id}/{uuid.uuid4().hex}"


class ClaimDocument(models.Model):
    """A supporting document, stored privately and served only through a scoped view."""

    class Kind(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents")
    requirement = models.CharField(_("document"), max_length=40)
    file = models.FileField(upload_to=_document_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40, choices=Kind.choices)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "requirement", "uploaded_at"]
        verbose_name = _("claim document")
        verbose_name_plural = _("claim documents")

    def __str__(self) -> str:
        return f"{self.claim} · {self.requirement}"


class PaymentBatch(models.Model):
    """Approved payouts gathered for one bank transfer file."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        EXPORTED = "exported", _("Exported to the bank")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("batch number"), max_length=32, unique=True)
    office = models.ForeignKey(
        "organisation.Union", on_delete=models.PROTECT, related_name="payment_batches"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # What the bank says: the day it paid and its reference for the transfer order.
    paid_on = models.DateField(_("date paid by the bank"), null=True, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_on__isnull=False),
                name="batch_paid_has_bank_date",
            ),
            # One bank reference names one batch of the office.
            models.UniqueConstraint(
                fields=["office", "bank_reference"],
                condition=~Q(bank_reference=""),
                name="batch_bank_reference_once",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Payout(models.Model):
    """Money owed on a claim: its decided amount, or a secondary assistance payment.

    A claim has at most one payout of each kind (unique constraint), and a payout sits in at
    most one batch at a time (a single foreign key). Each time it is put in a batch a
    ``Transfer`` records what was sent; the database lets a payout have at most one transfer
    that is in a batch or paid, so nothing is paid twice. A transfer the bank returns leaves the
    payout "failed" until its account is corrected; then it is due again for a later batch.
    """

    class Kind(models.TextChoices):
        PRIMARY = "primary", _("Claim payment")
        SECONDARY = "secondary", _("Secondary assistance")

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("payout status", "Due")
        BATCHED = "batched", _("In a payment batch")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField(blank=True)
    payee_name = models.CharField(max_length=30)
    payee_account = EncryptedCharField(max_length=30)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DUE)
    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.UniqueConstraint(fields=["claim", "kind"], name="payout_one_per_kind"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="batched") | Q(batch__isnull=False),
                name="payout_batched_has_batch",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="payout_paid_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["due", "failed"]) | Q(batch__isnull=True),
                name="payout_waiting_has_no_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim} {self.kind} {self.amount}"


class Transfer(models.Model):
    """One payout sent in one batch: what the bank was asked to pay, to which account, and what
    the bank did with it. Rows are kept when the bank returns the money, so a batch's file and
    totals stay true to what was sent, and the payout's next attempt is a new row in a later
    batch."""

    class Status(models.TextChoices):
        SENT = "sent", _("In the batch")
        PAID = "paid", _("Paid")
        RETURNED = "returned", _("Returned by the bank")
        CANCELLED = "cancelled", _("Batch cancelled")

    class Reason(models.TextChoices):
        WRONG_ACCOUNT = "wrong_account", _("Account number wrong or unknown to the bank")
        CLOSED = "closed", _("Account or card closed")
        NAME_MISMATCH = "name_mismatch", _("Account name does not match the payee")
        FROZEN = "frozen", _("Account frozen or not accepting payments")
        OTHER = "other", _("Other (write the bank's words)")

    # The reasons that mean the account itself must change before the money is sent again.
    ACCOUNT_REASONS = frozenset({Reason.WRONG_ACCOUNT, Reason.CLOSED, Reason.NAME_MISMATCH})

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="transfers")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="transfers")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    payee_name = models.CharField(_("payee"), max_length=30)
    payee_account = EncryptedCharField(_("payee account"), max_length=30)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SENT
    )
    return_reason = models.CharField(
        _("reason for the return"), max_length=16, choices=Reason.choices, blank=True
    )
    return_note = models.CharField(_("the bank's words"), max_length=200, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            # Never paid twice: at most one transfer of a payout is paid, and at most one is
            # in a batch or paid (so a paid payout cannot be sent again, nor sent twice).
            models.UniqueConstraint(
                fields=["payout"], condition=Q(status="paid"), name="transfer_paid_once"
            ),
            models.UniqueConstraint(
                fields=["payout"],
                condition=Q(status__in=["sent", "paid"]),
                name="transfer_one_live_per_payout",
            ),
            models.UniqueConstraint(fields=["batch", "payout"], name="transfer_once_per_batch"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""),
                name="transfer_returned_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch} {self.payout_id} {self.amount}"

    @property
    def payee_account_masked(self) -> str:
        return mask_bank_card(self.payee_account)

    @property
    def reason_text(self) -> str:
        """The reason in words, with the bank's own words when given."""
        label = str(self.Reason(self.return_reason).label) if self.return_reason else ""
        if self.return_reason == self.Reason.OTHER:
            return self.return_note or label
        if not self.return_note:
            return label
        return gettext("%(reason)s (%(words)s)") % {"reason": label, "words": self.return_note}


class OfficialDay(models.Model):
    """A day that differs from the plain week for due dates: a public holiday on a weekday, or a
    make-up working day on a weekend. Entered by admins for years the calendar package does not
    cover yet."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"), default=False)
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("official holiday or make-up day")
        verbose_name_plural = _("official holidays and make-up days")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class HolidayYear(models.Model):
    """Marks that an admin has entered every official day of a year."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(_("all holidays entered"), default=False)

    class Meta:
        ordering = ["year"]
        verbose_name = _("holiday year")
        verbose_name_plural = _("holiday years")

    def __str__(self) -> str:
        return str(self.year)


class NoticeBundle(models.Model):
    """Many decision notices printed as one PDF, made by a worker for one member of staff."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being printed")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    union = models.ForeignKey("organisation.Union", on_delete=models.PROTECT, related_name="+")
    claims = models.ManyToManyField(Claim, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="claim-notices/bundles/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"notices {self.pk}"
