"""Two members of staff recording money for one roster or statement at the same moment: the
receipts together never take more than is outstanding, and a bank reference is used once.

PostgreSQL only (CI's second run): SQLite serialises every writer, which proves nothing about
the row locks.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from enrollment import payments, statements
from enrollment.models import Receipt, Roster
from tests import factories
from tests.races import postgres_only, race  # noqa: F401 - postgres_only is an autouse fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


def receipt(roster, user, amount: str, reference: str, payer: str = payments.UNIT):
    return lambda: payments.receipt_record(
        roster=roster,
        user=user,
        payer_key=payer,
        amount=Decimal(amount),
        received_on=timezone.localdate(),
        reference=reference,
    )


def test_two_receipts_at_once_cannot_overpay(world):
    roster = factories.approved_roster(world.unit_a, people=80)  # the unit owes 6,400.00
    second = factories.UserFactory(role="office_staff", union=world.office)
    results = race(
        receipt(roster, world.office_staff, "4000.00", "A-1"),
        receipt(roster, second, "4000.00", "A-2"),
    )
    refused = [r for r in results if isinstance(r, payments.PaymentError)]
    assert len(refused) == 1, results
    assert Receipt.objects.filter(roster=roster).count() == 1
    assert payments.roster_dues(roster)[0].outstanding == Decimal("2400.00")


def test_two_receipts_covering_the_last_due_pay_the_roster_once(world):
    roster = factories.approved_roster(world.unit_a, people=2)  # unit 160.00, giver 60.00
    results = race(
        receipt(roster, world.office_staff, "160.00", "U-1"),
        receipt(roster, world.office_staff, "60.00", "G-1", payer="subsidy:吉林省直机关工会"),
    )
    assert all(isinstance(r, Receipt) for r in results), results
    roster.refresh_from_db()
    assert roster.status == Roster.Status.PAID and roster.payment_amount == Decimal("220.00")
    assert roster.events.filter(status=Roster.Status.PAID).count() == 1


def test_one_bank_reference_at_once_for_two_rosters_is_recorded_once(world):
    first = factories.approved_roster(world.unit_a, people=2)
    other = factories.approved_roster(world.unit_b, people=2)
    results = race(
        receipt(first, world.office_staff, "10.00", "SAME-REF"),
        receipt(other, world.office_staff, "10.00", "SAME-REF"),
    )
    assert sum(isinstance(r, payments.PaymentError) for r in results) == 1, results
    assert Receipt.objects.filter(reference="SAME-REF").count() == 1


def test_a_statement_and_a_direct_subsidy_receipt_at_once_take_the_subsidy_once(world):
    roster = factories.approved_roster(world.unit_a, people=2)  # giver owes 60.00

    def statement():
        return statements.statement_create(
            office=world.office,
            giver="吉林省直机关工会",
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 12, 31),
            user=world.office_staff,
        )

    results = race(
        statement,
        receipt(roster, world.office_staff, "60.00", "G-1", payer="subsidy:吉林省直机关工会"),
    )
    direct = Receipt.objects.filter(roster=roster).count()
    listed = roster.subsidy_lines.count()
    assert direct + listed == 1, results


def test_two_receipts_for_one_statement_at_once_cannot_overpay_it(world):
    factories.approved_roster(world.unit_a, people=2)
    statement = statements.statement_create(
        office=world.office,
        giver="吉林省直机关工会",
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )

    def pay(reference):
        return lambda: statements.statement_receipt_record(
            statement=statement,
            user=world.office_staff,
            amount=Decimal("60.00"),
            received_on=timezone.localdate(),
            reference=reference,
        )

    results = race(pay("S-1"), pay("S-2"))
    assert sum(isinstance(r, payments.PaymentError) for r in results) == 1, results
    assert statement.receipts.count() == 1
