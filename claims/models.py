"""Claims on an enrollment and the append-only history of what happened to each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")

    def __str__(self) -> str:
        return self.number


class Payout(models.Model):
    """Money owed on a claim: its decided amount, or a secondary assistance payment.

    A claim has at most one payout of each kind (unique constraint), and a payout sits in at
    most one batch at a time (a single foreign key), so nothing is paid twice.
    """

    class Kind(models.TextChoices):
        PRIMARY = "primary", _("Claim payment")
        SECONDARY = "secondary", _("Secondary assistance")

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("payout status", "Due")
        BATCHED = "batched", _("In a payment batch")
        PAID = "paid", _("Paid")

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
        ]

    def __str__(self) -> str:
        return f"{self.claim} {self.kind} {self.amount}"


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
