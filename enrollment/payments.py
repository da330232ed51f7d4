"""Who owes what for a roster, and recording the money as it arrives (receipts).

A roster's fee is split by payer: the unit (its administration, union funds and the members'
share it collects, transferred together) and each subsidy giver of the plan. ``roster_dues``
computes each payer's due, what was received and what is outstanding; the fee notice, the
roster's payment page and the ledger all show that one computation.

Every receipt is recorded under a row lock on its roster (or statement, then its rosters), so
two staff recording at the same moment are served one after the other and can never together
take more than is outstanding. A bank reference is used once per office: checked here for a
clear message, and enforced by the database's unique constraint.
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.enrolling import bulk_audit
from enrollment.models import (
    Enrollment,
    OfficeBankAccount,
    Receipt,
    Roster,
    RosterEvent,
    SubsidyStatement,
    SubsidyStatementLine,
)
from mutualaid.formatting import money
from mutualaid.outbox import jobs
from organisation.models import Union, User
from plans.engine.money import CENT, ZERO, quantize_money
from plans.engine.rules import PlanRules

UNIT = "unit"
SUBSIDY_PREFIX = "subsidy:"
# What the unit transfers: its administration's share, union funds and the members' share it
# collects from them.
UNIT_PARTS = ("unit", "union", "member")


class PaymentError(Exception):
    """A receipt or statement that cannot be recorded; the message is for the user."""


def office_of(union: Union) -> Union:
    """The office at the root of the union's branch: it issues notices and takes the money."""
    root_id = int(union.path.split("/", 1)[0])
    return union if root_id == union.pk else Union.objects.get(pk=root_id)


def bank_account_of(office: Union) -> OfficeBankAccount | None:
    return OfficeBankAccount.objects.filter(office=office).first()


# --- what each payer owes --------------------------------------------------------------------


@dataclass
class Due:
    key: str  # "unit" or "subsidy:<giver>"
    payer: str  # Receipt.Payer
    giver: str
    amount: Decimal
    received: Decimal = ZERO
    # The unit's due by its parts: (payer code, percent text, amount).
    parts: list[tuple[str, str, Decimal]] = field(default_factory=list)
    statement: SubsidyStatement | None = None

    @property
    def label(self) -> str:
        return self.giver if self.payer == Receipt.Payer.SUBSIDY else str(Receipt.Payer.UNIT.label)

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.received, ZERO)

    @property
    def covered(self) -> bool:
        return self.received >= self.amount


def subsidy_key(giver: str) -> str:
    return f"{SUBSIDY_PREFIX}{giver}"


def _money(value: object) -> Decimal:
    try:
        return quantize_money(Decimal(str(value or "0")))
    except ArithmeticError:
        return ZERO


def _giver_shares(rules: PlanRules, subsidy: Decimal) -> OrderedDict[str, Decimal]:
    """The roster's subsidy split between its givers in proportion to what each gives per
    member, to the cent, adding up to ``subsidy`` exactly."""
    per_giver: OrderedDict[str, Decimal] = OrderedDict()
    for item in rules.fees.subsidies:
        per_giver[item.payer] = per_giver.get(item.payer, ZERO) + item.amount_per_member
    if not per_giver or subsidy <= 0:
        return OrderedDict()
    whole = sum(per_giver.values(), ZERO)
    shares = OrderedDict(
        (g, (subsidy * v / whole).quantize(CENT, rounding=ROUND_DOWN)) for g, v in per_giver.items()
    )
    first = next(iter(shares))
    shares[first] += subsidy - sum(shares.values(), ZERO)
    return shares


def roster_dues(roster: Roster) -> list[Due]:
    """Each payer's due for the roster (the unit first, then each subsidy giver), with what was
    received: the roster's own receipts, and a giver's settled statement for its line."""
    funding = roster.funding or {}
    amounts = {k: _money(v) for k, v in (funding.get("amounts") or {}).items()}
    percents = funding.get("percent") or {}
    fee_total = quantize_money(roster.fee_total)
    if not amounts:
        amounts = {"unit": fee_total}
    subsidy = amounts.get("subsidy", ZERO)
    parts = [
        (payer, str(percents.get(payer, "")), amounts[payer])
        for payer in UNIT_PARTS
        if amounts.get(payer)
    ]
    # Whatever the split leaves unnamed (there should be nothing) is the unit's to pay.
    unit_total = max(sum((amount for _p, _pc, amount in parts), ZERO), fee_total - subsidy)
    dues = [Due(key=UNIT, payer=Receipt.Payer.UNIT, giver="", amount=unit_total, parts=parts)]
    rules = roster.plan_version.parsed_rules
    shares = _giver_shares(rules, subsidy)
    if subsidy and not shares:
        shares = OrderedDict({str(_("Subsidy")): subsidy})
    for giver, amount in shares.items():
        dues.append(Due(subsidy_key(giver), Receipt.Payer.SUBSIDY, giver, amount))
    if roster.pk is None:
        return dues
    received = {
        (row["payer"], row["giver"]): row["total"]
        for row in Receipt.objects.filter(roster=roster)
        .values("payer", "giver")
        .annotate(total=Sum("amount"))
    }
    by_key = {due.key: due for due in dues}
    for due in dues:
        due.received = received.get((due.payer, due.giver), ZERO)
    for line in SubsidyStatementLine.objects.filter(roster=roster).select_related("statement"):
        due = by_key.get(subsidy_key(line.giver))
        if due is None:
            continue
        due.statement = line.statement
        if statement_settled(line.statement):
            due.received += line.amount
    if roster.status == Roster.Status.PAID and not received and roster.payment_amount is not None:
        # Paid before receipts existed: the payment recorded then covered the whole fee.
        for due in dues:
            due.received = due.amount
    return dues


def dues_outstanding(dues: list[Due]) -> Decimal:
    return sum((due.outstanding for due in dues), ZERO)


def statement_received(statement: SubsidyStatement) -> Decimal:
    return statement.receipts.aggregate(total=Sum("amount"))["total"] or ZERO


def statement_settled(statement: SubsidyStatement) -> bool:
    return statement_received(statement) >= statement.total


# --- checks shared by every receipt ----------------------------------------------------------


def clean_reference(reference: str) -> str:
    return " ".join((reference or "").split())


def _check_receipt(
    *, office: Union, amount: Decimal, received_on: datetime.date, reference: str
) -> None:
    if amount is None or amount <= 0:
        raise PaymentError(_("The amount received must be more than zero."))
    if quantize_money(amount) != amount:
        raise PaymentError(_("The amount received has at most two decimals (fen)."))
    if received_on > timezone.localdate():
        raise PaymentError(_("The date received cannot be in the future."))
    if not reference:
        raise PaymentError(_("Enter the bank reference of the transfer."))
    if Receipt.objects.filter(office=office, reference=reference).exists():
        raise PaymentError(
            _("The bank reference %(reference)s was already recorded for another receipt.")
            % {"reference": reference}
        )


def _over(amount: Decimal, outstanding: Decimal, label: str) -> PaymentError:
    return PaymentError(
        _(
            "%(amount)s is more than the %(outstanding)s still outstanding from %(payer)s; "
            "nothing was recorded."
        )
        % {"amount": money(amount), "outstanding": money(outstanding), "payer": label}
    )


def _create(**fields) -> Receipt:
    try:
        with transaction.atomic():
            return Receipt.objects.create(**fields)
    except IntegrityError as exc:
        # PostgreSQL names the constraint, SQLite the columns.
        text = str(exc)
        if "receipt_reference_once_per_office" in text or "enrollment_receipt.reference" in text:
            raise PaymentError(
                _("The bank reference %(reference)s was already recorded for another receipt.")
                % {"reference": fields["reference"]}
            ) from exc
        raise


# --- receipts for a roster ---------------------------------------------------------------------


def lock_roster(roster_id: int) -> Roster:
    """The roster's row lock, as ``rosters._lock`` takes it for every other state change."""
    return Roster.objects.select_for_update().select_related("plan_version__plan").get(pk=roster_id)


def roster_mark_paid(*, roster: Roster, user: User) -> Roster:
    """The roster's last outstanding due was received: it is paid and its cover starts. Called
    inside the receipt's transaction with the roster locked. The roster's payment fields keep
    a summary of the receipts for the lists and dashboards (and the "paid has payment" rule)."""
    if roster.status != Roster.Status.APPROVED:
        raise PaymentError(_("Receipts can only be recorded for an approved roster."))
    ledger = roster_ledger(roster)
    roster.status = Roster.Status.PAID
    roster.payment_amount = sum((row["amount"] for row in ledger), ZERO)
    roster.payment_date = max((row["received_on"] for row in ledger), default=timezone.localdate())
    roster.payment_reference = " ".join(dict.fromkeys(r["reference"] for r in ledger))[:64]
    roster.save()
    activated = roster.enrollments.filter(status=Enrollment.Status.PENDING).update(
        status=Enrollment.Status.ACTIVE, activated_at=timezone.now()
    )
    bulk_audit(roster, "enrollment", activated, "roster_activated", user)
    RosterEvent.objects.create(
        roster=roster,
        status=roster.status,
        actor=user,
        note=f"{roster.payment_amount} · {roster.payment_reference}",
    )
    jobs.enqueue(
        "enrollment.tasks.roster_certificates",
        roster.pk,
        subject=f"roster:{roster.pk}",
        union_id=roster.union_id,
    )
    return roster


@dataclass(frozen=True)
class ReceiptPreview:
    """What recording a receipt will do, for the confirmation page."""

    payer: str
    amount: Decimal
    outstanding_before: Decimal
    outstanding_after: Decimal
    roster_outstanding_after: Decimal
    completes: bool


def _roster_due(roster: Roster, dues: list[Due], payer_key: str) -> Due:
    if roster.status != Roster.Status.APPROVED:
        raise PaymentError(_("Receipts can only be recorded for an approved roster."))
    due = next((d for d in dues if d.key == payer_key), None)
    if due is None:
        raise PaymentError(_("This payer owes nothing for this roster."))
    if due.statement is not None:
        raise PaymentError(
            _(
                "The subsidy of %(payer)s for this roster is on statement %(number)s; record "
                "the giver's transfer on the statement."
            )
            % {"payer": due.label, "number": due.statement.number}
        )
    return due


def receipt_preview(
    *, roster: Roster, payer_key: str, amount: Decimal, received_on: datetime.date, reference: str
) -> ReceiptPreview:
    """Every check the recording makes, without recording: raises PaymentError or says what
    the receipt will leave outstanding."""
    reference = clean_reference(reference)
    _check_receipt(
        office=office_of(roster.union), amount=amount, received_on=received_on, reference=reference
    )
    dues = roster_dues(roster)
    due = _roster_due(roster, dues, payer_key)
    if amount > due.outstanding:
        raise _over(amount, due.outstanding, due.label)
    after = dues_outstanding(dues) - amount
    return ReceiptPreview(
        payer=due.label,
        amount=amount,
        outstanding_before=due.outstanding,
        outstanding_after=due.outstanding - amount,
        roster_outstanding_after=after,
        completes=after == 0,
    )


@transaction.atomic
def receipt_record(
    *,
    roster: Roster,
    user: User,
    payer_key: str,
    amount: Decimal,
    received_on: datetime.date,
    reference: str,
) -> Receipt:
    """Record one transfer for a roster; when it covers the last outstanding due, the roster
    is paid and its cover starts (``rosters.roster_mark_paid``)."""
    roster = lock_roster(roster.pk)
    office = office_of(roster.union)
    reference = clean_reference(reference)
    _check_receipt(office=office, amount=amount, received_on=received_on, reference=reference)
    dues = roster_dues(roster)
    due = _roster_due(roster, dues, payer_key)
    if amount > due.outstanding:
        raise _over(amount, due.outstanding, due.label)
    receipt = _create(
        office=office,
        roster=roster,
        payer=due.payer,
        giver=due.giver,
        amount=amount,
        received_on=received_on,
        reference=reference,
        recorded_by=user,
    )
    if dues_outstanding(dues) - amount == 0:
        roster_mark_paid(roster=roster, user=user)
    return receipt


def payer_choices(roster: Roster) -> list[tuple[str, str]]:
    """The payers a receipt may be recorded for: those with something outstanding that is not
    on a subsidy statement."""
    return [
        (due.key, f"{due.label} · {money(due.outstanding)}")
        for due in roster_dues(roster)
        if due.outstanding > 0 and due.statement is None
    ]


def roster_ledger(roster: Roster) -> list[dict]:
    """The money received for the roster, oldest first: its own receipts and the statement
    receipts that settled its subsidy lines."""
    rows = [
        {
            "received_on": r.received_on,
            "payer": r.payer_label,
            "amount": r.amount,
            "reference": r.reference,
            "recorded_by": r.recorded_by,
            "statement": None,
        }
        for r in roster.receipts.select_related("recorded_by")
    ]
    for line in roster.subsidy_lines.select_related("statement"):
        if statement_settled(line.statement):
            last = line.statement.receipts.select_related("recorded_by").last()
            rows.append(
                {
                    "received_on": last.received_on,
                    "payer": line.giver,
                    "amount": line.amount,
                    "reference": last.reference,
                    "recorded_by": last.recorded_by,
                    "statement": line.statement,
                }
            )
    return sorted(rows, key=lambda r: r["received_on"])
