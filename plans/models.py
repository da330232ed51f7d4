"""Plans and their versions. A version's rules are structured data validated by the engine."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from plans.engine.rules import PlanRules, RulesError, parse_rules


class Plan(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(
        _("region"),
        max_length=50,
        blank=True,
        help_text=_(
            "The province or city whose union issued the plan, shown with its name so that "
            "plans of different regions with similar names are told apart."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    office = models.ForeignKey(
        "organisation.Union",
        verbose_name=_("office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
        help_text=_("The office that runs the plan; empty for plans every office may use."),
    )
    offered_under = models.ManyToManyField(
        "organisation.Union",
        verbose_name=_("offered under"),
        blank=True,
        related_name="offered_plans",
        help_text=_(
            "Offices, or city and county unions, under which units may enroll in the plan: "
            "every union at or below one of them."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name users read: the region first, so that similar plans of different regions
        are told apart in every list, workbook and notice."""
        if not self.region or self.name.startswith(self.region):
            return self.name
        return f"{self.region}·{self.name}"


class PlanVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(
        _("effective to"), null=True, blank=True, help_text=_("Empty means open-ended.")
    )
    schema_version = models.PositiveSmallIntegerField(_("rule schema version"))
    rules = models.JSONField(_("rules"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan__code", "-number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="planversion_range_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} v{self.number}"

    @property
    def display_name(self) -> str:
        """The plan's name and the version's number, as people read them."""
        return _("%(plan)s, version %(n)s") % {"plan": self.plan.display_name, "n": self.number}

    def clean(self) -> None:
        try:
            parsed = parse_rules(self.rules)
        except RulesError as exc:
            raise ValidationError({"rules": exc.messages}) from exc
        self.schema_version = parsed.schema_version

    @property
    def parsed_rules(self) -> PlanRules:
        """The rules as engine objects; parsed once per instance because parsing validates."""
        cached = getattr(self, "_parsed_rules", None)
        if cached is None:
            cached = parse_rules(self.rules)
            self._parsed_rules = cached
        return cached

    def covers(self, day) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class PlanChange(models.Model):
    """Every change to a plan or one of its versions: who, when, what, before and after."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")
        OFFERED = "offered", _("Where it is offered changed")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="changes")
    version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")

    def __str__(self) -> str:
        return f"{self.plan.code} {self.action} {self.at:%Y-%m-%d}"

    @property
    def diff(self) -> list[tuple[str, object, object]]:
        if self.before is None or self.after is None:
            return []
        return rules_diff(self.before, self.after)


def rules_diff(before: object, after: object, path: str = "") -> list[tuple[str, object, object]]:
    """Every leaf that differs between two rule dicts, as (path, before, after)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after), key=str):
            changes += rules_diff(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        changes = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            changes += rules_diff(old, new, f"{path}[{index}]")
        return changes
    return [] if before == after else [(path, before, after)]
