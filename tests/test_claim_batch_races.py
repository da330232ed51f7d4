"""Two members of staff acting on one batch or one returned payment at the same moment: the bank's
money is recorded once. PostgreSQL only (see tests/races.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from claims import services
from claims.models import Claim, PaymentBatch, Payout, Transfer
from tests import factories
from tests.races import postgres_only, race  # noqa: F401 - postgres_only is an autouse fixture
from tests.test_claim_batches import approved_claim, exported_batch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]


def test_two_confirmations_with_different_references_pay_once(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    second = factories.UserFactory(role="office_staff", union=world.office)

    def confirm(user, reference):
        return lambda: services.batch_confirm_paid(
            batch=batch, user=user, paid_on=timezone.localdate(), bank_reference=reference
        )

    results = race(confirm(world.office_staff, "R-A"), confirm(second, "R-B"))
    assert sum(isinstance(r, PaymentBatch) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1, results
    assert Transfer.objects.filter(status=Transfer.Status.PAID).count() == 1
    assert Claim.objects.get(pk=claim.pk).events.filter(to_status="paid").count() == 1
    batch.refresh_from_db()
    assert batch.bank_reference in ("R-A", "R-B")


def test_one_reference_on_two_batches_at_once_is_kept_once(world):
    first = exported_batch(world, approved_claim(world))
    other = exported_batch(world, approved_claim(world, member=world.member_b))

    def confirm(batch):
        return lambda: services.batch_confirm_paid(
            batch=batch, user=world.office_staff, paid_on=timezone.localdate(), bank_reference="R"
        )

    results = race(confirm(first), confirm(other))
    assert sum(isinstance(r, PaymentBatch) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1, results
    assert PaymentBatch.objects.filter(status=PaymentBatch.Status.PAID).count() == 1
    assert Payout.objects.filter(status=Payout.Status.PAID).count() == 1


def corrected_payout(world) -> tuple[Claim, Payout]:
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    services.transfer_return(
        transfer=batch.transfers.get(), user=world.office_staff, reason="wrong_account"
    )
    services.payee_correct(
        claim=claim,
        user=world.clerk_a,
        payee_name=claim.payee_name,
        payee_account="6217000010001234567",
    )
    return claim, Payout.objects.get(claim=claim)


def test_two_staff_rebatching_a_corrected_payment_send_it_once(world):
    claim, payout = corrected_payout(world)
    second = factories.UserFactory(role="office_staff", union=world.office)

    def make(user):
        return lambda: services.batch_create(user=user, payouts=Payout.objects.filter(pk=payout.pk))

    results = race(make(world.office_staff), make(second))
    assert sum(isinstance(r, PaymentBatch) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1, results
    assert payout.transfers.filter(status=Transfer.Status.SENT).count() == 1
    assert payout.transfers.count() == 2


def test_a_return_and_the_confirmation_at_once_never_leave_it_paid(world):
    """Whichever comes first, the returned transfer is not paid and the claim is not paid."""
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    line = batch.transfers.get()

    results = race(
        lambda: services.batch_confirm_paid(
            batch=batch, user=world.office_staff, paid_on=timezone.localdate(), bank_reference="R"
        ),
        lambda: services.transfer_return(transfer=line, user=world.office_staff, reason="closed"),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    line.refresh_from_db()
    claim.refresh_from_db()
    assert line.status == Transfer.Status.RETURNED
    assert Payout.objects.get(claim=claim).status == Payout.Status.FAILED
    assert claim.status == Claim.Status.APPROVED
    assert not Transfer.objects.filter(status=Transfer.Status.PAID).exists()


def test_two_returns_of_one_line_at_once_return_it_once(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    line = batch.transfers.get()

    def give_back():
        return services.transfer_return(transfer=line, user=world.office_staff, reason="closed")

    results = race(give_back, give_back)
    assert sum(isinstance(r, Transfer) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1, results
    assert claim.events.filter(note__contains=batch.number).count() == 1


def test_two_corrections_at_once_make_it_due_once(world):
    claim = approved_claim(world, amount="420.00")
    batch = exported_batch(world, claim)
    services.transfer_return(
        transfer=batch.transfers.get(), user=world.office_staff, reason="wrong_account"
    )

    def correct(account):
        return lambda: services.payee_correct(
            claim=claim, user=world.clerk_a, payee_name=claim.payee_name, payee_account=account
        )

    results = race(correct("6217000010001234567"), correct("6217000010001234999"))
    assert sum(isinstance(r, Claim) for r in results) == 1, results
    assert sum(isinstance(r, services.ClaimError) for r in results) == 1, results
    payout = Payout.objects.get(claim=claim)
    assert payout.status == Payout.Status.DUE and payout.amount == Decimal("420.00")
