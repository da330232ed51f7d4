"""The union tree, the people in it, and who is covered by which plan."""

from __future__ import annotations

import contextlib
import uuid

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualaid.fields import EncryptedCharField, LookupDigestField
from plans.engine.identity import (
    CreditCodeError,
    mask_bank_card,
    mask_id_number,
    mask_phone,
    validate_credit_code,
)


def _validate_credit_code(value: str) -> None:
    try:
        validate_credit_code(value)
    except CreditCodeError as exc:
        raise ValidationError(str(exc)) from exc


class Union(models.Model):
    """A node of the union tree: an office, a city/county/district union or a grassroots union.

    ``path`` is a materialised path of zero-padded ids ("000001/000004/"), so "this node and
    everything below it" is one indexed prefix query instead of a walk over the tree.
    """

    class Level(models.TextChoices):
        OFFICE = "office", _("Office")
        CITY = "city", _("City union")
        COUNTY = "county", _("County or district union")
        GRASSROOTS = "grassroots", _("Grassroots union")

    # Which levels may sit directly under which: a grassroots union may hang from any higher
    # level (provincial organs' units sit right under the office), but never the other way.
    ALLOWED_PARENTS = {
        Level.OFFICE: (),
        Level.CITY: (Level.OFFICE,),
        Level.COUNTY: (Level.OFFICE, Level.CITY),
        Level.GRASSROOTS: (Level.OFFICE, Level.CITY, Level.COUNTY),
    }

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    headcount = models.PositiveIntegerField(
        _("headcount"), default=0, help_text=_("Members on the union's books.")
    )
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[_validate_credit_code],
    )
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("union")
        verbose_name_plural = _("unions")
        constraints = [
            models.CheckConstraint(
                condition=Q(level="office", parent__isnull=True)
                | (~Q(level="office") & Q(parent__isnull=False)),
                name="union_only_offices_are_roots",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The path needs the row's id, so a new row is first written with a temporary unique
        # path and given its real one inside the same transaction. A move to another parent
        # rewrites the whole branch in one statement.
        with transaction.atomic():
            if self.pk is None:
                self.path = f"tmp-{uuid.uuid4().hex}/"
                super().save(*args, **kwargs)
                old_path = None
            else:
                old_path = self.path
                super().save(*args, **kwargs)
            new_path = (self.parent.path if self.parent else "") + f"{self.pk:06d}/"
            if new_path != old_path:
                self.path = new_path
                self.depth = new_path.count("/") - 1
                super().save(update_fields=["path", "depth"])
                if old_path:
                    _rewrite_descendant_paths(old_path, new_path)

    def clean(self) -> None:
        allowed = self.ALLOWED_PARENTS.get(self.level, ())
        if self.parent is None and self.level != self.Level.OFFICE:
            raise ValidationError({"parent": _("Only an office may stand without a parent.")})
        if self.parent is not None and self.parent.level not in allowed:
            raise ValidationError(
                {
                    "parent": _("A %(level)s cannot sit under a %(parent)s.")
                    % {"level": self.get_level_display(), "parent": self.parent.get_level_display()}
                }
            )
        if self.pk and self.parent and self.parent.path.startswith(self.path or "\0"):
            raise ValidationError({"parent": _("A union cannot sit under its own branch.")})
        if self.credit_code:
            # The field validator reports a bad code; here a good one is only normalised.
            with contextlib.suppress(CreditCodeError):
                self.credit_code = validate_credit_code(self.credit_code)

    def subtree(self) -> models.QuerySet[Union]:
        return Union.objects.filter(path__startswith=self.path)

    def ancestors(self) -> list[Union]:
        ids = [int(part) for part in self.path.strip("/").split("/")[:-1]]
        by_id = Union.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]

    @property
    def is_grassroots(self) -> bool:
        return self.level == self.Level.GRASSROOTS


def _rewrite_descendant_paths(old_prefix: str, new_prefix: str) -> None:
    """Moving a branch rewrites its descendants' paths in one statement, not one per node."""
    from django.db.models.functions import Concat, Substr

    Union.objects.filter(path__startswith=old_prefix).exclude(path=new_prefix).update(
        path=Concat(models.Value(new_prefix), Substr("path", len(old_prefix) + 1)),
        depth=F("depth") + (new_prefix.count("/") - old_prefix.count("/")),
    )


class User(AbstractUser):
    class Role(models.TextChoices):
        CLERK = "clerk", _("Union clerk")
        COUNTY_STAFF = "county_staff", _("County union staff")
        OFFICE_STAFF = "office_staff", _("Office staff")
        PLAN_ADMIN = "plan_admin", _("Plan administrator")
        AUDITOR = "auditor", _("Auditor")

    # The level of node each role works at; a user at the wrong level would see too much or
    # too little.
    ROLE_LEVELS = {
        Role.CLERK: (Union.Level.GRASSROOTS,),
        Role.COUNTY_STAFF: (Union.Level.COUNTY, Union.Level.CITY),
        Role.OFFICE_STAFF: (Union.Level.OFFICE,),
        Role.PLAN_ADMIN: (Union.Level.OFFICE,),
        Role.AUDITOR: (Union.Level.OFFICE,),
    }

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    union = models.ForeignKey(
        Union,
        verbose_name=_("union"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("The node of the union tree the user works for; they see it and below."),
    )
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="") | Q(union__isnull=False),
                name="user_role_needs_union",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if self.role and self.union_id is None:
            raise ValidationError({"union": _("A user with a role must belong to a union.")})
        if self.role and self.union is not None:
            allowed = self.ROLE_LEVELS[self.role]
            if self.union.level not in allowed:
                raise ValidationError(
                    {
                        "union": _("A %(role)s works at a %(levels)s.")
                        % {
                            "role": self.get_role_display(),
                            "levels": " / ".join(str(Union.Level(x).label) for x in allowed),
                        }
                    }
                )

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles


class Member(models.Model):
    """One person, identified by their ID number across the whole system."""

    class EmploymentType(models.TextChoices):
        REGULAR = "正式职工", _("Regular employee")
        CONTRACT = "合同制职工", _("Contract employee")
        TEMPORARY = "临时职工", _("Temporary employee (over one year)")
        NEW_FORM = "新就业形态劳动者", _("New-employment-form worker")
        RETIRED = "退休", _("Retired")

    class Occupation(models.TextChoices):
        TRUCK = "货车司机", _("Truck driver")
        RIDE_HAILING = "网约车司机", _("Ride-hailing driver")
        COURIER = "快递员", _("Courier")
        DELIVERY = "外卖员", _("Food-delivery rider")
        OTHER = "其他", _("Other")

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    # Encrypted at rest (mutualaid/fields.py); people are found by the keyed digest beside it.
    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_digest = LookupDigestField(source="id_number", unique=True)
    name = models.CharField(_("name"), max_length=30)
    birth_date = models.DateField(_("birth date"))
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    phone = models.CharField(_("phone"), max_length=11, blank=True)
    bank_card = EncryptedCharField(_("bank card"), max_length=30, blank=True)
    employment_type = models.CharField(
        _("employment type"), max_length=16, choices=EmploymentType.choices
    )
    occupation = models.CharField(
        _("occupation"), max_length=16, choices=Occupation.choices, blank=True
    )
    medical_insurance = models.BooleanField(_("in medical insurance"), default=False)
    high_risk = models.BooleanField(_("high-risk industry"), default=False)
    union = models.ForeignKey(
        Union,
        verbose_name=_("current union"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["union", "name"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        indexes = [models.Index(fields=["union", "name"])]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"

    def save(self, *args, **kwargs) -> None:
        # The digest follows the ID number even when only some fields are saved.
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "id_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "id_number_digest"}
        super().save(*args, **kwargs)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def bank_card_masked(self) -> str:
        return mask_bank_card(self.bank_card)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


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
        "enrollment.User",
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
        ]
        indexes = [models.Index(fields=["status", "union"])]

    def __str__(self) -> str:
        return f"{self.union} · {self.plan_version} · {self.coverage_start:%Y-%m-%d}"

    @property
    def plan(self):
        return self.plan_version.plan

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
        "enrollment.User", on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.roster_id} → {self.status}"


class ShareHolding(models.Model):
    """How many shares of one plan a person holds in one coverage period, across all unions.

    Every enrollment adds to its holding in the same transaction; the check constraint makes the
    database refuse a total beyond the plan's share limit, whichever union the shares came from
    and however many requests race each other.
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

    class Meta:
        ordering = ["-coverage_start", "member__name"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            # One roster never lists a person twice; duplicates across unions are limited by
            # ShareHolding instead, because a person may legitimately split shares.
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


class AuditEntry(models.Model):
    """One thing someone did to personal or business data, kept for the auditors.

    Rows are only ever added (on PostgreSQL a trigger refuses UPDATE and DELETE). The actor's
    name and role are copied, so the entry still reads true after the user changes. ``trail``
    names the record whose history the entry belongs to ("claim:12", "member:40"), so a claim's
    page can list everything done to it and to its documents with one indexed query.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        BULK = "bulk", _("Bulk change")
        VIEW = "view", _("Viewed in full")
        DOWNLOAD = "download", _("Downloaded")
        PURGE = "purge", _("Purged under retention rules")
        LOGIN = "login", _("Signed in")
        LOGOUT = "logout", _("Signed out")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        WORKER = "worker", _("Background worker")
        COMMAND = "command", _("Command line")

    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        "User",
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    actor_role = models.CharField(_("role"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("record type"), max_length=32)
    object_id = models.CharField(_("record id"), max_length=40, blank=True)
    object_label = models.CharField(_("record"), max_length=200, blank=True)
    trail = models.CharField(max_length=48, blank=True)
    union = models.ForeignKey(
        Union,
        verbose_name=_("union"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    count = models.PositiveIntegerField(_("records"), default=1)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # What happened, as a key of enrollment.audit.NOTES (translated when shown) and its values.
    note = models.CharField(_("note"), max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent"),
            models.Index(fields=["trail", "at"], name="audit_trail"),
            models.Index(fields=["union", "at"], name="audit_union"),
            models.Index(fields=["actor", "at"], name="audit_actor"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_label}"
