"""A claim from report to paid, through the pages, with the worker's tasks run eagerly."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from claims.models import Claim, ClaimDocument, PaymentBatch, Payout
from tests import factories

PDF = factories.pdf_document()
PNG = factories.png_document()
HOSPITAL = {
    "benefit": "hospital_allowance",
    "admission_date": "2026-03-01",
    "discharge_date": "2026-03-11",
    "hospital_name": "长春市中心医院",
    "hospital_locality": "local",
    "hospital_grade": "3",
    "payee_name": "甲职工",
    "payee_account": "6222021234567890128",
}


def report(client, enrollment, run, **changes):
    data = dict(HOSPITAL, **changes)
    return run(client.post, reverse("claims:claim_report", args=[enrollment.pk]), data)


def add_documents(client, claim, run, codes=None):
    from claims.services import required_documents

    for code, _label in required_documents(claim):
        if codes is not None and code not in codes:
            continue
        run(
            client.post,
            reverse("claims:claim_document_add", args=[claim.pk]),
            {"requirement": code, "file": SimpleUploadedFile(f"{code}.pdf", PDF)},
        )


def test_clerk_finds_the_member_by_id_number(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_a)
    page = client.post(
        reverse("claims:claim_start"), {"id_number": world.member_a.id_number.lower()}, follow=True
    )
    assert reverse("claims:claim_report", args=[enrollment.pk]) in page.content.decode()
    assert world.member_a.id_number not in page.redirect_chain[-1][0].upper()
    other = client.post(reverse("claims:claim_start"), {"id_number": world.member_b.id_number})
    assert reverse("claims:claim_report", args=[enrollment.pk]) not in other.content.decode()


def test_whole_journey_from_report_to_paid(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    response = report(client, enrollment, run)
    claim = Claim.objects.get()
    assert response.status_code == 302
    assert claim.status == Claim.Status.REPORTED and claim.event_date == datetime.date(2026, 3, 1)

    # A text file named .pdf is refused by its content.
    run(
        client.post,
        reverse("claims:claim_document_add", args=[claim.pk]),
        {"requirement": "invoice", "file": SimpleUploadedFile("invoice.pdf", b"just text")},
    )
    assert not ClaimDocument.objects.exists()

    add_documents(client, claim, run)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING
    assert claim.completed_at and claim.due_date and claim.due_basis
    assert claim.proposal["decision"] == "pay"
    assert claim.proposal["amount"] == "500.00"
    assert claim.proposed_amount == Decimal("500.00")

    client.force_login(world.office_staff)
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "500.00" in page and claim.proposal["lines"][0]["label"] in page

    # Departing from the proposal needs a written reason.
    run(
        client.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "pay", "amount": "400.00", "confirmed": "yes"},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING
    # Without a reason the confirmation page is not shown either: the claim page says why.
    refused = client.post(
        reverse("claims:claim_decide", args=[claim.pk]), {"approve": "pay", "amount": "400.00"}
    )
    assert refused.status_code == 302

    # The decision is shown before it is recorded, once, with its amount.
    with translation.override("en"):
        confirm = client.post(
            reverse("claims:claim_decide", args=[claim.pk]), {"approve": "pay", "amount": "500.00"}
        )
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "500.00" in page and 'name="confirmed" value="yes"' in page
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING and not Payout.objects.exists()

    run(
        client.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "pay", "amount": "500.00", "confirmed": "yes"},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED and claim.approved_amount == Decimal("500.00")
    assert claim.notice
    payout = Payout.objects.get(claim=claim)
    assert payout.status == Payout.Status.DUE

    # Deciding twice is refused: the claim has moved on.
    again = run(
        client.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "pay", "amount": "500.00", "confirmed": "yes"},
        follow=True,
    )
    assert Payout.objects.filter(claim=claim).count() == 1
    assert "alert-danger" in again.content.decode()

    notice = client.get(reverse("claims:claim_notice", args=[claim.pk]))
    assert b"".join(notice.streaming_content).startswith(b"%PDF")

    run(client.post, reverse("claims:batch_list"), {"payout": [payout.pk]})
    batch = PaymentBatch.objects.get()
    payout.refresh_from_db()
    assert payout.batch == batch and payout.status == Payout.Status.BATCHED
    # A payout in a batch cannot be put in another one.
    run(client.post, reverse("claims:batch_list"), {"payout": [payout.pk]})
    assert PaymentBatch.objects.count() == 1

    # Confirming before export is refused; export, then confirm.
    paid = {
        "paid_on": timezone.localdate().isoformat(),
        "bank_reference": "BOC20260311-0001",
        "confirmed": "yes",
    }
    run(client.post, reverse("claims:batch_paid", args=[batch.pk]), paid)
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.OPEN
    workbook = client.get(reverse("claims:batch_export", args=[batch.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "6222021234567890128" in values and claim.number in " ".join(map(str, values))
    run(client.post, reverse("claims:batch_paid", args=[batch.pk]), paid)
    claim.refresh_from_db()
    payout.refresh_from_db()
    assert claim.status == Claim.Status.PAID and payout.status == Payout.Status.PAID

    # Secondary assistance on the paid claim goes through a batch like any other payment.
    run(
        client.post,
        reverse("claims:claim_secondary", args=[claim.pk]),
        {"amount": "300.00", "reason": "困难职工，家庭收入低于当地低保标准"},
    )
    secondary = Payout.objects.get(claim=claim, kind=Payout.Kind.SECONDARY)
    assert secondary.status == Payout.Status.DUE
    run(
        client.post,
        reverse("claims:claim_secondary", args=[claim.pk]),
        {"amount": "300.00", "reason": "再次申请"},
    )
    assert Payout.objects.filter(claim=claim, kind=Payout.Kind.SECONDARY).count() == 1

    statuses = list(claim.events.values_list("to_status", flat=True))
    assert statuses[0] == "reported" and "reviewing" in statuses and statuses[-1] == "paid"


def test_rejection_needs_reasons_and_follows_the_engine(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run, discharge_date="2026-03-02")  # a one-day stay
    claim = Claim.objects.get()
    add_documents(client, claim, run)
    claim.refresh_from_db()
    assert claim.proposal["decision"] == "reject"
    assert "stay_too_short" in claim.proposal["reasons"]
    client.force_login(world.office_staff)
    run(
        client.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "reject", "confirmed": "yes"},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING
    run(
        client.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "reject", "reasons": ["stay_too_short"], "confirmed": "yes"},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED and claim.reject_reasons == ["stay_too_short"]
    assert not Payout.objects.exists()


def test_return_for_documents_and_back(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    add_documents(client, claim, run)
    client.force_login(world.office_staff)
    run(client.post, reverse("claims:claim_move", args=[claim.pk]), {"to": "returned", "note": ""})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING
    run(
        client.post,
        reverse("claims:claim_move", args=[claim.pk]),
        {"to": "returned", "note": "发票不清晰，请重新上传"},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RETURNED
    run(client.post, reverse("claims:claim_move", args=[claim.pk]), {"to": "investigating"})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RETURNED  # returned → investigating is not a step


def test_reporting_outside_the_cover_or_benefit_is_refused(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    response = report(
        client, enrollment, run, admission_date="2027-02-01", discharge_date="2027-02-05"
    )
    assert response.status_code == 200 and not Claim.objects.exists()
    response = report(client, enrollment, run, benefit="fire_loss")
    assert response.status_code == 200 and not Claim.objects.exists()
    response = report(client, enrollment, run, discharge_date="2026-02-01")
    assert response.status_code == 200 and not Claim.objects.exists()


def test_documents_are_served_only_within_scope(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    run(
        client.post,
        reverse("claims:claim_document_add", args=[claim.pk]),
        {"requirement": "id_copy", "file": SimpleUploadedFile("id.png", PNG)},
    )
    document = ClaimDocument.objects.get()
    assert document.content_type == "image/png"
    assert "id.png" not in document.file.name
    url = reverse("claims:claim_document_download", args=[claim.pk, document.pk])
    assert client.get(url).status_code == 200
    for outsider in (world.clerk_b, world.other_office_staff):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(reverse("claims:claim_detail", args=[claim.pk])).status_code == 404
    client.force_login(world.office_staff)
    assert client.get(url).status_code == 200


def test_only_office_staff_decide_and_pay(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    for url in (
        reverse("claims:claim_decide", args=[claim.pk]),
        reverse("claims:claim_move", args=[claim.pk]),
        reverse("claims:batch_list"),
    ):
        assert client.post(url, {"approve": "pay", "amount": "1"}).status_code == 403
    client.force_login(world.auditor)
    assert client.post(reverse("claims:claim_decide", args=[claim.pk])).status_code == 403
    assert client.get(reverse("claims:claim_detail", args=[claim.pk])).status_code == 200


def test_review_queue_filters_sorts_and_marks_overdue(client, world, covered):
    enrollment, run = covered
    late = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.REVIEWING,
        due_date=datetime.date(2026, 1, 10),
        due_basis="official",
    )
    fresh = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.REVIEWING,
        due_date=datetime.date(2099, 1, 10),
        due_basis="official",
    )
    client.force_login(world.office_staff)
    page = client.get(reverse("claims:claim_list"), {"overdue": "on"}).content.decode()
    assert late.number in page and fresh.number not in page
    page = client.get(reverse("claims:claim_list"), {"status": "reviewing", "sort": "due"})
    text = page.content.decode()
    assert text.index(late.number) < text.index(fresh.number)
    assert "table-danger" in text
    by_unit = client.get(reverse("claims:claim_list"), {"union": world.unit_b.pk}).content.decode()
    assert late.number not in by_unit and world.unit_a.name in by_unit  # offered in the filter
    bad = client.get(reverse("claims:claim_list"), {"date_from": "not-a-date", "union": "x"})
    assert bad.status_code == 200


def test_trial_calculation_page_uses_the_engine(client, world):
    factories.catalog_version()
    client.force_login(world.office_staff)
    page = client.get(
        reverse("claims:trial"),
        {
            "plan": "jilin-allowance-2020",
            "coverage_start": "2024-01-01",
            "shares": "1",
            "benefit": "critical_illness",
            "filed_date": "2024-06-01",
            "diagnosis_date": "2024-02-01",
        },
    ).content.decode()
    assert "500.00" in page
    client.force_login(world.clerk_a)
    assert client.get(reverse("claims:trial")).status_code == 403
