"""Rosters and enrollments: who is covered by which plan, for which period, and how it was paid."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisation.models import Member, Union

# The message with which the database refuses an enrollment beyond the plan's share limit over
# overlapping cover (the trigger of migration 0008); callers match it to tell the clerk why.
SHARE_LIMIT_ERROR = "enrollment_shares_over_limit"

# The statuses of a roster that a new upload replaces; the database holds at most one roster
# in them per unit, plan and coverage start.
OPEN_DRAFT_STATUSES = ("uploaded", "checking", "checked", "refused", "returned")


class Roster(models.Model):
    """One uploaded roster of a unit for a plan and coverage period, from draft to import."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded, waiting to be checked")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        REFUSED = "refused", _("File refused")
        SUBMITTING = "submitting", _("Submitting")
        SUBMITTED = "submitted", _("Submitted for review")
        RETURNED = "returned", _("Returned to the unit")
        APPROVED = "approved", _("Approved, awaiting payment")
        PAID = "paid", _("Paid, coverage active")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    union = models.ForeignKey(
        Union, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="rosters"
    )
    plan_version = models.ForeignKey(
        "plans.PlanVersion",
        verbose_name=_("plan version"),
        on_delete=models.PROTECT,
        related_name="rosters",
    )
    # Always the version's plan (set by save()), kept beside it so that the database itself can
    # hold one draft per unit, plan and period, whichever version each upload was checked under.
    plan = models.ForeignKey(
        "plans.Plan",
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    coverage_start = models.DateField(_("coverage start"))
    coverage_end = models.DateField(_("coverage end"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED
    )
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    file = models.FileField(_("file"), upload_to="rosters/%Y/%m/", blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    # A new upload gets a new token; a worker still busy with an older file sees the token
    # change and throws its result away instead of overwriting the newer one.
    check_token = models.UUIDField(default=uuid.uuid4)
    funding = models.JSONField(_("funding split"), default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_valid = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    fee_total = models.DecimalField(_("fee total"), max_digits=14, decimal_places=2, default=0)
    sheet_name = models.CharField(max_length=100, blank=True)
    header_row = models.PositiveIntegerField(null=True, blank=True)
    renewal = models.JSONField(_("changes since last period"), default=dict, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)
    payment_amount = models.DecimalField(
        _("amount paid"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    payment_date = models.DateField(_("payment date"), null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    annotated = models.FileField(upload_to="annotated/%Y/%m/", blank=True)
    fee_notice = models.FileField(upload_to="notices/%Y/%m/", blank=True)
    certificates = models.FileField(upload_to="certificates/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_end__gt=F("coverage_start")), name="roster_period_not_empty"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(payment_amount__isnull=False),
                name="roster_paid_has_payment",
            ),
            # Uploads racing each other replace one draft instead of piling drafts up.
            models.UniqueConstraint(
                fields=["union", "plan", "coverage_start"],
                condition=Q(status__in=OPEN_DRAFT_STATUSES),
                name="roster_one_draft_per_period",
            ),
        ]
        indexes = [models.Index(fields=["status", "union"])]

    def __str__(self) -> str:
        return f"{self.union} · {self.plan_version} · {self.coverage_start:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        if self.plan_version_id is not None:
            self.plan_id = self.plan_version.plan_id
        super().save(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status in (
            self.Status.UPLOADED,
            self.Status.CHECKING,
            self.Status.CHECKED,
            self.Status.REFUSED,
            self.Status.RETURNED,
        )

    @property
    def can_submit(self) -> bool:
        return self.status == self.Status.CHECKED and self.error_count == 0 and self.rows_valid > 0

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_checked / self.rows_total))


class RosterFinding(models.Model):
    """One finding of a roster's latest check, kept for paging and filtering by code."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="findings")
    row = models.PositiveIntegerField(null=True)
    column = models.CharField(max_length=100, blank=True)
    col = models.PositiveSmallIntegerField(null=True)
    code = models.CharField(max_length=40)
    level = models.CharField(max_length=8)
    message = models.TextField()

    class Meta:
        ordering = ["roster", "row", "col", "pk"]
        indexes = [models.Index(fields=["roster", "code"])]

    def __str__(self) -> str:
        return f"{self.roster_id} row {self.row}: {self.code}"


class RosterEvent(models.Model):
    """One step in a roster's life (uploaded, submitted, returned, approved, paid). Append-only."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16, choices=Roster.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.roster_id} → {self.status}"

    @property
    def note_text(self) -> str:
        """The note in the reader's language (mutualaid.event_notes)."""
        from mutualaid.event_notes import render
        from plans.engine.findings import code_label

        return render(self.note, ROSTER_NOTES, code_label)


# What a roster's history notes say, by the key stored with the event (enrollment.rosters).
ROSTER_NOTES = {
    "checked": _("%(rows)s rows, %(errors)s errors"),
    "imported": _("%(n)s people enrolled, awaiting review"),
}


class ShareHolding(models.Model):
    """How many shares of one plan a person holds in the periods starting on one day, across all
    unions.

    Every enrollment adds to its holding in the same transaction, and the check constraint
    refuses a total beyond the plan's share limit. That covers cover starting on the same day
    only; cover that merely overlaps (2026-01-01 and 2026-02-01) is limited by the share-limit
    trigger on the enrollment table (see ``enrollment.enrolling``).
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="holdings")
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="+")
    coverage_start = models.DateField()
    shares = models.PositiveSmallIntegerField(default=0)
    share_limit = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("share holding")
        verbose_name_plural = _("share holdings")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "plan", "coverage_start"], name="holding_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(shares__lte=F("share_limit")), name="holding_within_share_limit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}/{self.plan_id}/{self.coverage_start}: {self.shares}"


class EnrollmentQuerySet(models.QuerySet):
    def in_force(self, on: datetime.date | None = None) -> EnrollmentQuerySet:
        """Cover in force on the day (today in the portal's time zone unless given): the one
        definition every page, dashboard and export counts by.

        Paid (active; awaiting payment and cancelled never count) and the day within the
        coverage period, its first and last days included. Cover paid for a period that has not
        begun, or that has ended, is not in force."""
        day = on or timezone.localdate()
        return self.filter(
            status=Enrollment.Status.ACTIVE, coverage_start__lte=day, coverage_end__gte=day
        )


class Enrollment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="enrollments"
    )
    plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+"
    )
    plan_version = models.ForeignKey(
        "plans.PlanVersion",
        verbose_name=_("plan version"),
        on_delete=models.PROTECT,
        related_name="enrollments",
    )
    union = models.ForeignKey(
        Union, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="enrollments"
    )
    roster = models.ForeignKey(
        Roster,
        verbose_name=_("roster"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrollments",
    )
    coverage_start = models.DateField(_("coverage start"))
    coverage_end = models.DateField(_("coverage end"))
    shares = models.PositiveSmallIntegerField(_("shares"))
    fee = models.DecimalField(_("fee"), max_digits=10, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-coverage_start", "member__name"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            # One roster never lists a person twice; cover across unions and periods is limited
            # by the share-limit trigger instead (migration 0008), because a person may
            # legitimately split shares.
            models.UniqueConstraint(fields=["roster", "member"], name="enrollment_once_per_roster"),
            models.CheckConstraint(condition=Q(shares__gte=1), name="enrollment_shares_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="enrollment_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(coverage_end__gt=F("coverage_start")),
                name="enrollment_period_not_empty",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "plan", "coverage_start"]),
            models.Index(fields=["union", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.member.name} · {self.plan.code} · {self.coverage_start:%Y-%m-%d}"


# Receipts, subsidy statements and the office's bank account live in their own module.
from enrollment.payment_models import (  # noqa: E402, F401
    OfficeBankAccount,
    Receipt,
    SubsidyStatement,
    SubsidyStatementLine,
)
