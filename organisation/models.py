"""The union tree and the people in it: unions, the users who work for them, and members."""

from __future__ import annotations

import contextlib
import uuid

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
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
        # The tables kept the names they had when these models lived in the enrollment app.
        db_table = "enrollment_union"
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
        db_table = "enrollment_user"
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
        db_table = "enrollment_member"
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


class HeadcountProposal(models.Model):
    """A unit's headcount as its clerk proposes it, until county, city or office staff above the
    unit confirm it (then it becomes ``Union.headcount``, which the roster check uses) or reject
    it. A unit has at most one proposal waiting at a time (``organisation.headcount``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Replaced by a newer proposal")

    union = models.ForeignKey(
        Union,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="headcount_proposals",
    )
    headcount = models.PositiveIntegerField(_("proposed headcount"))
    previous = models.PositiveIntegerField(_("headcount before"), default=0)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    proposed_by = models.ForeignKey(
        "organisation.User",
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        "organisation.User",
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = _("headcount proposal")
        verbose_name_plural = _("headcount proposals")
        constraints = [
            models.UniqueConstraint(
                fields=["union"],
                condition=Q(status="pending"),
                name="headcount_one_pending_per_union",
            ),
            models.CheckConstraint(
                condition=Q(headcount__gte=1), name="headcount_proposal_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="headcount_decision_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.union} · {self.headcount} · {self.get_status_display()}"
