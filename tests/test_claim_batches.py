"""Payment batches record what the bank did: the date and reference of the payment, transfers the
bank returned, the corrected account, and the payment in a later batch, never twice."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from claims import services
from claims.models import Claim, PaymentBatch, Payout, Transfer
from mutualaid.auditlog.models import AuditEntry
from tests import factories

OLD_ACCOUNT = "6222021234567890128"
NEW_ACCOUNT = "6217000010001234567"


def approved_claim(world, amount="500.00", member=None) -> Claim:
    enrollment = factories.enroll(member or world.member_a, factories.catalog_version())
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.APPROVED,
        approved_amount=Decimal(amount),
        decided_at=timezone.now(),
        payee_account=OLD_ACCOUNT,
    )
    Payout.objects.create(
        claim=claim,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal(amount),
        payee_name=claim.payee_name,
        payee_account=claim.payee_account,
        granted_by=world.office_staff,
    )
    return claim


def exported_batch(world, *claims) -> PaymentBatch:
    batch = services.batch_create(
        user=world.office_staff, payouts=Payout.objects.filter(claim__in=claims)
    )
    return services.batch_mark_exported(batch=batch, user=world.office_staff)


def today() -> datetime.date:
    return timezone.localdate()


def bank_rows(batch: PaymentBatch) -> list[tuple]:
    from claims.notices import bank_transfer_workbook

    sheet = openpyxl.load_workbook(io.BytesIO(bank_transfer_workbook(batch))).active
    return list(sheet.iter_rows(values_only=True))[1:]


# --- the bank's date and reference --------------------------------------------------------------


def test_confirming_paid_needs_a_date_not_in_the_future_and_not_before_export(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    with pytest.raises(services.ClaimError):
        services.batch_confirm_paid(
            batch=batch,
            user=world.office_staff,
            paid_on=today() + datetime.timedelta(days=1),
            bank_reference="R1",
        )
    with pytest.raises(services.ClaimError):
        services.batch_confirm_paid(
            batch=batch,
            user=world.office_staff,
            paid_on=today() - datetime.timedelta(days=1),
            bank_reference="R1",
        )
    for reference in ("", "   ", "A\x00B", "x" * 65):
        with pytest.raises(services.ClaimError):
            services.batch_confirm_paid(
                batch=batch, user=world.office_staff, paid_on=today(), bank_reference=reference
            )
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.status == PaymentBatch.Status.EXPORTED and not batch.bank_reference
    assert claim.status == Claim.Status.APPROVED

    services.batch_confirm_paid(
        batch=batch, user=world.office_staff, paid_on=today(), bank_reference="  BOC-778899 "
    )
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID
    assert (batch.paid_on, batch.bank_reference) == (today(), "BOC-778899")
    assert claim.status == Claim.Status.PAID
    assert batch.transfers.get().status == Transfer.Status.PAID
    entry = AuditEntry.objects.filter(object_type="payment_batch", object_id=str(batch.pk)).latest(
        "pk"
    )
    assert entry.changes["bank_reference"][1] == "BOC-778899"


def test_a_bank_reference_is_used_once_in_an_office(world):
    first = exported_batch(world, approved_claim(world))
    second = exported_batch(world, approved_claim(world, member=world.member_b))
    services.batch_confirm_paid(
        batch=first, user=world.office_staff, paid_on=today(), bank_reference="REF-1"
    )
    with pytest.raises(services.ClaimError):
        services.batch_confirm_paid(
            batch=second, user=world.office_staff, paid_on=today(), bank_reference="REF-1"
        )
    second.refresh_from_db()
    assert second.status == PaymentBatch.Status.EXPORTED
    # The database itself refuses it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentBatch.objects.filter(pk=second.pk).update(bank_reference="REF-1")


def test_the_batch_is_confirmed_paid_after_one_confirmation_page(client, world):
    claim = approved_claim(world)
    other = approved_claim(world, amount="250.50", member=world.member_b)
    batch = exported_batch(world, claim, other)
    client.force_login(world.office_staff)
    url = reverse("claims:batch_paid", args=[batch.pk])
    detail = client.get(reverse("claims:batch_detail", args=[batch.pk])).content.decode()
    assert url in detail

    # A date in the future is refused on the form, and nothing changes.
    future = (today() + datetime.timedelta(days=3)).isoformat()
    refused = client.post(url, {"paid_on": future, "bank_reference": "R-9"})
    assert refused.status_code == 200 and 'name="confirmed"' not in refused.content.decode()

    with translation.override("en"):
        page = client.post(url, {"paid_on": today().isoformat(), "bank_reference": "R-9"})
    html = page.content.decode()
    assert page.status_code == 200 and 'name="confirmed" value="yes"' in html
    assert "750.50" in html and "R-9" in html and today().isoformat() in html
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.EXPORTED

    done = client.post(
        url, {"paid_on": today().isoformat(), "bank_reference": "R-9", "confirmed": "yes"}
    )
    assert done.status_code == 302
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID and batch.bank_reference == "R-9"
    shown = client.get(reverse("claims:batch_detail", args=[batch.pk])).content.decode()
    assert "R-9" in shown and today().strftime("%Y-%m-%d") in shown
    # Asking again changes nothing: the batch is closed.
    again = client.post(
        url, {"paid_on": today().isoformat(), "bank_reference": "R-10", "confirmed": "yes"}
    )
    assert again.status_code == 200
    batch.refresh_from_db()
    assert batch.bank_reference == "R-9"


# --- a transfer the bank returns ----------------------------------------------------------------


def test_returned_transfer_is_corrected_and_paid_in_a_later_batch_once(client, world):
    claim = approved_claim(world)
    other = approved_claim(world, amount="300.00", member=world.member_b)
    batch = exported_batch(world, claim, other)
    line = batch.transfers.get(payout__claim=claim)

    client.force_login(world.office_staff)
    client.cookies["django_language"] = "en"
    return_url = reverse("claims:transfer_return", args=[batch.pk, line.pk])
    assert client.get(return_url).status_code == 200
    # "Other" needs the bank's words.
    client.post(return_url, {"reason": "other", "note": ""})
    line.refresh_from_db()
    assert line.status == Transfer.Status.SENT
    response = client.post(return_url, {"reason": "wrong_account", "note": "户名账号不符"})
    assert response.status_code == 302
    line.refresh_from_db()
    payout = line.payout
    payout.refresh_from_db()
    assert line.status == Transfer.Status.RETURNED and line.return_reason == "wrong_account"
    assert payout.status == Payout.Status.FAILED and payout.batch is None

    # The bank pays the rest; the returned line stays returned and the file stays as sent.
    services.batch_confirm_paid(
        batch=batch, user=world.office_staff, paid_on=today(), bank_reference="R-1"
    )
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.total == Decimal("800.00")
    assert claim.status == Claim.Status.APPROVED
    assert Claim.objects.get(pk=other.pk).status == Claim.Status.PAID
    rows = bank_rows(batch)
    assert [r[2] for r in rows[:-1]].count(OLD_ACCOUNT) == 2 and rows[-1][3] == 800
    with translation.override("en"):
        detail = client.get(reverse("claims:batch_detail", args=[batch.pk])).content.decode()
    assert "Returned by the bank" in detail and "Account number wrong" in detail

    # The claim shows the failed payment, on its page and in the list.
    client.force_login(world.clerk_a)
    with translation.override("en"):
        page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
        listed = client.get(reverse("claims:claim_list")).content.decode()
        failed_only = client.get(reverse("claims:claim_list"), {"status": "payment_failed"})
    assert "Payment failed" in page and "Account number wrong" in page
    assert reverse("claims:claim_payee", args=[claim.pk]) in page
    assert "Payment failed" in listed and "Account number wrong" in listed
    assert claim.number in failed_only.content.decode()
    assert other.number not in failed_only.content.decode()

    # It waits for a corrected account: not offered for a batch, and not batched if asked.
    with pytest.raises(services.ClaimError):
        services.batch_create(user=world.office_staff, payouts=[payout])

    # The same account is refused for an account reason; the clerk enters the right one.
    payee_url = reverse("claims:claim_payee", args=[claim.pk])
    client.post(payee_url, {"payee_name": claim.payee_name, "payee_account": OLD_ACCOUNT})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    response = client.post(
        payee_url, {"payee_name": claim.payee_name, "payee_account": "6217 0000 1000 1234 567"}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    payout.refresh_from_db()
    assert claim.payee_account == NEW_ACCOUNT and payout.payee_account == NEW_ACCOUNT
    assert payout.status == Payout.Status.DUE
    change = AuditEntry.objects.filter(object_type="claim", object_id=str(claim.pk)).latest("pk")
    assert NEW_ACCOUNT not in str(change.changes) and "payee_account" in change.changes

    # A later batch sends it to the new account; the first batch still shows what it sent.
    later = exported_batch(world, claim)
    assert later.total == Decimal("500.00")
    assert [r[2] for r in bank_rows(later)[:-1]] == [NEW_ACCOUNT]
    assert OLD_ACCOUNT in [r[2] for r in bank_rows(batch)[:-1]]
    services.batch_confirm_paid(
        batch=later, user=world.office_staff, paid_on=today(), bank_reference="R-2"
    )
    claim.refresh_from_db()
    payout.refresh_from_db()
    assert claim.status == Claim.Status.PAID and payout.status == Payout.Status.PAID
    assert list(payout.transfers.values_list("status", flat=True)) == ["returned", "paid"]
    assert claim.events.filter(to_status="paid").count() == 1
    # Paid now: it is never put in a batch again.
    with pytest.raises(services.ClaimError):
        services.batch_create(user=world.office_staff, payouts=[payout])


def test_a_return_after_the_batch_was_paid_takes_the_payment_back(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    services.batch_confirm_paid(
        batch=batch, user=world.office_staff, paid_on=today(), bank_reference="R-1"
    )
    line = batch.transfers.get()
    services.transfer_return(transfer=line, user=world.office_staff, reason="closed")
    claim.refresh_from_db()
    payout = Payout.objects.get(claim=claim)
    assert claim.status == Claim.Status.APPROVED and claim.paid_at is None
    assert payout.status == Payout.Status.FAILED and payout.paid_at is None
    assert not Transfer.objects.filter(status=Transfer.Status.PAID).exists()
    # Returned once only.
    with pytest.raises(services.ClaimError):
        services.transfer_return(transfer=line, user=world.office_staff, reason="closed")
    # A reason that is not about the account lets the same account be tried again.
    frozen = approved_claim(world, member=world.member_b)
    other_batch = exported_batch(world, frozen)
    services.transfer_return(
        transfer=other_batch.transfers.get(), user=world.office_staff, reason="frozen"
    )
    services.payee_correct(
        claim=frozen,
        user=world.office_staff,
        payee_name=frozen.payee_name,
        payee_account=OLD_ACCOUNT,
    )
    assert Payout.objects.get(claim=frozen).status == Payout.Status.DUE


def test_cancelling_a_batch_keeps_its_lines_as_cancelled(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    services.batch_cancel(batch=batch, user=world.office_staff)
    assert batch.transfers.get().status == Transfer.Status.CANCELLED
    again = exported_batch(world, claim)
    assert again.transfers.get().status == Transfer.Status.SENT
    assert Payout.objects.get(claim=claim).batch == again


def test_only_open_batches_lines_can_be_returned(world):
    claim = approved_claim(world)
    batch = services.batch_create(
        user=world.office_staff, payouts=Payout.objects.filter(claim=claim)
    )
    with pytest.raises(services.ClaimError):
        services.transfer_return(
            transfer=batch.transfers.get(), user=world.office_staff, reason="closed"
        )
    with pytest.raises(services.ClaimError):
        services.transfer_return(
            transfer=batch.transfers.get(), user=world.office_staff, reason="made_up"
        )


def test_the_database_refuses_a_second_live_or_paid_transfer(world):
    claim = approved_claim(world)
    batch = exported_batch(world, claim)
    payout = Payout.objects.get(claim=claim)
    other = PaymentBatch.objects.create(
        number="PB-X", office=world.office, created_by=world.office_staff, total=payout.amount
    )

    def line(status):
        return Transfer.objects.create(
            batch=other,
            payout=payout,
            amount=payout.amount,
            payee_name="x",
            payee_account=OLD_ACCOUNT,
            status=status,
        )

    for status in (Transfer.Status.SENT, Transfer.Status.PAID):
        with pytest.raises(IntegrityError), transaction.atomic():
            line(status)
    Transfer.objects.filter(batch=batch).update(status=Transfer.Status.PAID)
    for status in (Transfer.Status.SENT, Transfer.Status.PAID):
        with pytest.raises(IntegrityError), transaction.atomic():
            line(status)
    # A returned line needs its reason.
    with pytest.raises(IntegrityError), transaction.atomic():
        line(Transfer.Status.RETURNED)


def test_deciding_shows_the_decision_before_recording_it(client, world):
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.REVIEWING,
        proposal={"decision": "reject", "reasons": ["stay_too_short"], "lines": []},
    )
    client.force_login(world.office_staff)
    url = reverse("claims:claim_decide", args=[claim.pk])
    page = client.post(url, {"approve": "reject", "reasons": ["stay_too_short"]})
    html = page.content.decode()
    assert page.status_code == 200 and 'value="stay_too_short"' in html
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING
    client.post(url, {"approve": "reject", "reasons": ["stay_too_short"], "confirmed": "yes"})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED


def test_dashboards_count_a_returned_payment_as_not_paid(world):
    from oversight import dashboards

    claim = approved_claim(world, amount="640.00")
    batch = exported_batch(world, claim)
    services.batch_confirm_paid(
        batch=batch, user=world.office_staff, paid_on=today(), bank_reference="R-1"
    )

    def by_status():
        with translation.override("en"):
            rows = dashboards.payouts(world.office_staff).rows
        return {row.values[2]: row.values[4] for row in rows[:-1]}

    assert by_status() == {"Paid": Decimal("640.00")}
    services.transfer_return(
        transfer=batch.transfers.get(), user=world.office_staff, reason="closed"
    )
    assert by_status() == {"Payment failed": Decimal("640.00")}
