"""Claims on an enrollment and the append-only history of what happened to each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
        "enrollment.Union", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="claims"
    )
    benefit = models.CharField(_("benefit"), max_length=40)
    event_date = models.DateField(_("event date"))
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REPORTED
    )
    payee_name = models.CharField(_("payee"), max_length=30)
    payee_account = models.CharField(_("payee account"), max_length=30)
    proposed_amount = models.DecimalField(
        _("proposed amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    proposal = models.JSONField(_("engine proposal"), default=dict, blank=True)
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
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

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
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["union", "status"]),
        ]

    def __str__(self) -> str:
        return self.number

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
