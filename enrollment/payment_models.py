"""Money received for rosters: receipts by payer, subsidy statements and the office's account.

A roster's fee is owed by several payers (the unit, and each subsidy giver of the plan); what
each owes is computed from the roster's funding split (``enrollment.payments.roster_dues``).
Office staff record each bank transfer as a ``Receipt``; a subsidy giver's transfer settles a
``SubsidyStatement`` that lists the rosters it pays for. Imported by ``enrollment.models``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from organisation.models import Union

STATEMENT_PREFIX = "BT"


class OfficeBankAccount(models.Model):
    """The account an office receives fees on; printed on every fee notice it issues."""

    office = models.OneToOneField(
        Union,
        verbose_name=_("office"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Union.Level.OFFICE},
    )
    account_name = models.CharField(_("account name"), max_length=200)
    bank_name = models.CharField(_("bank"), max_length=200)
    account_number = models.CharField(_("account number"), max_length=64)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("office bank account")
        verbose_name_plural = _("office bank accounts")

    def __str__(self) -> str:
        return f"{self.account_name} · {self.bank_name}"


class SubsidyStatement(models.Model):
    """What one subsidy giver owes an office for the rosters whose cover starts in a period."""

    office = models.ForeignKey(
        Union, verbose_name=_("office"), on_delete=models.PROTECT, related_name="+"
    )
    giver = models.CharField(_("subsidy giver"), max_length=200)
    period_start = models.DateField(_("cover starting from"))
    period_end = models.DateField(_("cover starting until"))
    total = models.DecimalField(_("amount owed"), max_digits=14, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("subsidy statement")
        verbose_name_plural = _("subsidy statements")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="statement_period_not_reversed",
            ),
            models.CheckConstraint(condition=Q(total__gt=0), name="statement_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number} · {self.giver}"

    @property
    def number(self) -> str:
        return f"{STATEMENT_PREFIX}-{self.pk:08d}"


class SubsidyStatementLine(models.Model):
    """One roster's subsidy on a statement. A roster's subsidy from one giver is on one
    statement only, whatever two staff do at the same time (the unique constraint)."""

    statement = models.ForeignKey(SubsidyStatement, on_delete=models.PROTECT, related_name="lines")
    roster = models.ForeignKey(
        "enrollment.Roster", on_delete=models.PROTECT, related_name="subsidy_lines"
    )
    giver = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["statement", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "giver"], name="statement_line_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="statement_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}/{self.roster_id}: {self.amount}"


class Receipt(models.Model):
    """One transfer received: from a unit or a subsidy giver for a roster, or from a giver for
    a whole statement. A bank reference is used once per office (database-enforced)."""

    class Payer(models.TextChoices):
        UNIT = "unit", _("Unit")
        SUBSIDY = "subsidy", _("Subsidy giver")

    office = models.ForeignKey(Union, on_delete=models.PROTECT, related_name="+")
    roster = models.ForeignKey(
        "enrollment.Roster",
        verbose_name=_("roster"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
    )
    statement = models.ForeignKey(
        SubsidyStatement,
        verbose_name=_("subsidy statement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
    )
    payer = models.CharField(_("payer"), max_length=16, choices=Payer.choices)
    giver = models.CharField(_("subsidy giver"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount received"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("date received"))
    reference = models.CharField(_("bank reference"), max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "pk"]
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(
                condition=Q(roster__isnull=False, statement__isnull=True)
                | Q(roster__isnull=True, statement__isnull=False, payer="subsidy"),
                name="receipt_for_roster_or_statement",
            ),
            models.CheckConstraint(
                condition=Q(payer="unit", giver="") | (Q(payer="subsidy") & ~Q(giver="")),
                name="receipt_payer_named",
            ),
            models.UniqueConstraint(
                fields=["office", "reference"], name="receipt_reference_once_per_office"
            ),
        ]
        indexes = [models.Index(fields=["roster", "payer", "giver"])]

    def __str__(self) -> str:
        return f"{self.reference} · {self.amount}"

    @property
    def payer_label(self) -> str:
        return self.giver if self.payer == self.Payer.SUBSIDY else str(self.Payer.UNIT.label)
