"""Two members of staff acting on one claim or one batch at the same moment: exactly one wins.

These run on PostgreSQL (CI's second run), where row locks are real and two connections can
truly race; SQLite serialises whole-database writes, which proves nothing about the locks.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from claims import services
from claims.models import Claim, PaymentBatch, Payout
from tests import factories
from tests.races import postgres_only, race  # noqa: F401 - postgres_only is an autouse fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


def reviewing_claim(world) -> Claim:
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    return factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.REVIEWING,
        proposal={"decision": "pay", "amount": "500.00", "reasons": [], "lines": []},
        proposed_amount=Decimal("500.00"),
    )


def test_two_approvals_at_once_approve_once(world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    claim = reviewing_claim(world)
    second = factories.UserFactory(role="office_staff", union=world.office)

    def approve(user):
        return lambda: services.claim_decide(
            claim=claim, user=user, approve=True, amount=Decimal("500.00")
        )

    results = race(approve(world.office_staff), approve(second))
    errors = [r for r in results if isinstance(r, services.ClaimError)]
    assert len(errors) == 1, results
    assert Payout.objects.filter(claim=claim).count() == 1
    assert claim.events.filter(to_status="approved").count() == 1


def test_two_payment_confirmations_pay_once(world):
    claim = reviewing_claim(world)
    services.claim_decide(
        claim=claim, user=world.office_staff, approve=True, amount=Decimal("500.00")
    )
    batch = services.batch_create(user=world.office_staff, payouts=Payout.objects.all())
    services.batch_mark_exported(batch=batch, user=world.office_staff)

    def confirm():
        return services.batch_confirm_paid(
            batch=batch, user=world.office_staff, paid_on=timezone.localdate(), bank_reference="B-1"
        )

    results = race(confirm, confirm)
    assert sum(isinstance(r, PaymentBatch) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PAID
    assert claim.events.filter(to_status="paid").count() == 1


def test_one_payout_cannot_land_in_two_batches(world):
    claim = reviewing_claim(world)
    services.claim_decide(
        claim=claim, user=world.office_staff, approve=True, amount=Decimal("500.00")
    )

    def make():
        return services.batch_create(user=world.office_staff, payouts=Payout.objects.all())

    results = race(make, make)
    assert sum(isinstance(r, PaymentBatch) for r in results) == 1, results
    assert Payout.objects.get().batch is not None
