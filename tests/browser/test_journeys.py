"""The portal's three main journeys in a real headless Chromium, through the pages people use:
the clerk's roster upload (with a real worker behind the progress bar and the annotated
workbook), the office's approval and payment, a claim from report to a paid bank batch, and the
plan administrator's copy, edit, try and publish.

Run with `PORTAL_BROWSER_TESTS=1 ./scripts/test tests/browser`; screenshots of every step are in
test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from claims.models import Claim, PaymentBatch, Payout, Transfer
from enrollment.annotate import ERROR_RGB
from enrollment.models import Enrollment, Roster
from plans.engine.findings import code_label
from plans.models import PlanVersion
from plans.services import plans_load_catalog
from tests import factories
from tests.browser.conftest import wait_for_selector
from tests.test_claim_journey import PDF
from tests.test_roster_journey import START, good_rows, person_id, workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "jilin-allowance-2020"
# The corrected bank card after the bank returned a transfer (a valid card number).
NEW_CARD = "6228480012345678903"


def messy_rows() -> list[list[object]]:
    """Three good rows, then a bad checksum (sheet row 6), a short phone and a retired person."""
    bad_id = person_id(50)[:-1] + ("0" if person_id(50)[-1] != "0" else "1")
    return good_rows(3) + [
        ["王五", bad_id, "13904310050", "正式职工", "是", ""],
        ["赵六", person_id(51), "139043", "正式职工", "是", ""],
        ["钱七", person_id(52), "13904310052", "退休", "是", ""],
    ]


def fill_upload(page, path) -> None:
    # Choosing the plan swaps in its funding fields (htmx): wait for them before typing.
    with page.expect_response(lambda response: "/plan-panel/" in response.url):
        page.select_option("#id_plan", CODE)
    page.wait_for_load_state("networkidle")
    page.fill("#id_coverage_start", START.isoformat())
    page.fill("#id_unit_percent", "60")
    page.fill("#id_union_percent", "0")
    page.fill("#id_member_percent", "40")
    page.set_input_files("#id_file", str(path))


def upload_button(page):
    return page.locator("main form[enctype='multipart/form-data'] button[type=submit]")


def test_clerk_uploads_a_roster_and_the_office_approves_and_records_payment(
    portal, world, worker, shots, tmp_path
):
    plans_load_catalog()
    world.unit_a.headcount = 4
    world.unit_a.save()
    base = portal.base_url

    clerk = portal.login(world.clerk_a, shots=shots)
    clerk.goto(base + reverse("enrollment:roster_upload"))
    shots(clerk, "upload-page")

    # The plan's template downloads as a workbook with the roster's columns.
    with clerk.expect_download() as download:
        clerk.click(f"a[href='{reverse('enrollment:roster_template', args=[CODE])}']")
    template = download.value
    assert template.suggested_filename.endswith(".xlsx"), template.suggested_filename
    template_path = tmp_path / "template.xlsx"
    template.save_as(template_path)
    sheet = openpyxl.load_workbook(template_path).worksheets[0]
    assert "姓名" in [c.value for row in sheet.iter_rows(max_row=3) for c in row]

    # A messy roster: the worker checks it while the page shows its progress.
    messy = tmp_path / "名单-有错.xlsx"
    messy.write_bytes(workbook(messy_rows()))
    fill_upload(clerk, messy)
    shots(clerk, "messy-roster-chosen")
    upload_button(clerk).click()
    clerk.wait_for_load_state()
    roster = Roster.objects.get(union=world.unit_a)
    detail = reverse("enrollment:roster_detail", args=[roster.pk])
    assert clerk.url == base + detail
    # The worker may already be done; otherwise the page shows the check's progress bar.
    assert clerk.locator("#roster-progress .progress, main table tbody tr").count() > 0
    shots(clerk, "checking-progress")
    wait_for_selector(clerk, "a[href$='/download/annotated/']", worker=worker)
    shots(clerk, "findings")
    # Each finding names its problem type in Chinese, never by its code.
    kinds = set(clerk.locator("main table tbody tr td:last-child").all_inner_texts())
    wanted = {code_label(c) for c in ("id_checksum", "phone_invalid", "employment_type_ineligible")}
    assert wanted <= kinds, kinds
    assert clerk.locator("form[action$='/submit/']").count() == 0  # errors block submitting

    # The annotated workbook marks the bad ID cell red, with a comment.
    with clerk.expect_download() as download:
        clerk.click("a[href$='/download/annotated/']")
    annotated_path = tmp_path / "annotated.xlsx"
    download.value.save_as(annotated_path)
    cell = openpyxl.load_workbook(annotated_path)["名单"].cell(row=6, column=2)
    assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == ERROR_RGB
    assert cell.comment is not None and cell.comment.text

    # The fixed roster replaces the draft and can be submitted.
    clerk.click(f"a[href^='{reverse('enrollment:roster_upload')}?plan=']")
    clerk.wait_for_load_state()
    fixed = tmp_path / "名单-改正.xlsx"
    fixed.write_bytes(workbook(good_rows(4)))
    fill_upload(clerk, fixed)
    shots(clerk, "fixed-roster-chosen")
    upload_button(clerk).click()
    clerk.wait_for_load_state()
    assert clerk.url == base + detail
    wait_for_selector(clerk, "form[action$='/submit/'] button", worker=worker)
    shots(clerk, "clean-roster")
    clerk.click("form[action$='/submit/'] button")
    clerk.wait_for_load_state()
    # Asked once: who, how much, which unit and period; then confirmed.
    assert "¥440.00" in clerk.inner_text("#confirm-fee")
    shots(clerk, "submit-confirm")
    clerk.click("#confirm-button")
    clerk.wait_for_load_state()
    shots(clerk, "submitting")
    # While it is being enrolled the roster can be withdrawn too; wait for the enrollment.
    wait_for_selector(clerk, "form[action$='/withdraw/'] button", worker=worker)
    deadline = time.monotonic() + 90
    while roster.status != Roster.Status.SUBMITTED and time.monotonic() < deadline:
        time.sleep(0.3)
        roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    clerk.reload()
    clerk.wait_for_load_state()
    shots(clerk, "submitted")

    # The office finds it in the queue, approves it and records the payment.
    office = portal.login(world.office_staff, shots=shots)
    office.goto(base + reverse("enrollment:roster_list") + "?status=submitted")
    shots(office, "office-queue")
    office.click(f"main a[href='{detail}']")
    office.wait_for_load_state()
    shots(office, "office-review")
    office.click("form[action$='/approve/'] button")
    office.wait_for_load_state()
    shots(office, "approve-confirm")
    office.click("#confirm-button")
    office.wait_for_load_state()
    wait_for_selector(office, "a[href$='/download/fee-notice/']", worker=worker)
    shots(office, "approved")
    # The unit's transfer (320.00), then the subsidy giver's (120.00), each confirmed once.
    for payer, amount, reference in (
        ("unit", "320.00", "ICBC-20251220-001"),
        ("subsidy:吉林省直机关工会", "120.00", "ICBC-20251221-002"),
    ):
        office.select_option("#id_payer", payer)
        office.fill("#id_amount", amount)
        office.fill("#id_received_on", "2025-12-20")
        office.fill("#id_reference", reference)
        shots(office, f"receipt-entered-{reference}")
        office.click("form[action$='/payment/'] button")
        office.wait_for_load_state()
        shots(office, f"receipt-confirm-{reference}")
        office.click("form[action$='/payment/'] input[name='confirmed'] ~ div button")
        office.wait_for_load_state()
    wait_for_selector(office, "a[href$='/download/certificates/']", worker=worker)
    shots(office, "paid")
    assert "已缴费" in office.locator("main .badge").first.inner_text()
    roster.refresh_from_db()
    assert roster.status == Roster.Status.PAID
    assert Enrollment.objects.filter(roster=roster, status="active").count() == 4


def test_claim_from_report_to_a_paid_bank_batch(portal, world, worker, shots, tmp_path):
    enrollment = factories.enroll(world.member_a, factories.catalog_version(CODE))
    base = portal.base_url
    document = tmp_path / "住院发票.pdf"
    document.write_bytes(PDF)

    # The clerk finds the member by ID number and reports a hospital stay.
    clerk = portal.login(world.clerk_a, shots=shots)
    clerk.goto(base + reverse("claims:claim_start"))
    clerk.fill("#id_id_number", world.member_a.id_number)
    clerk.click("main form[method=post] button[type=submit]")
    clerk.wait_for_load_state()
    assert "?s=" in clerk.url and world.member_a.id_number not in clerk.url.upper()
    shots(clerk, "member-found")
    clerk.click(f"a[href='{reverse('claims:claim_report', args=[enrollment.pk])}']")
    clerk.wait_for_load_state()
    # Until a benefit is chosen the form shows the facts of all the plan's benefits; choosing
    # one swaps in (htmx) just the facts that benefit needs.
    assert clerk.locator("#id_accident_date").count() == 1
    clerk.select_option("#id_benefit", "hospital_allowance")
    clerk.wait_for_selector("#claim-facts[data-benefit='hospital_allowance']")
    assert clerk.locator("#id_accident_date").count() == 0
    assert clerk.locator("#id_fire_date").count() == 0
    clerk.fill("#id_admission_date", "2026-03-01")
    clerk.fill("#id_discharge_date", "2026-03-11")
    clerk.fill("#id_hospital_name", "吉林大学第一医院")
    clerk.select_option("#id_hospital_locality", "local")
    clerk.select_option("#id_hospital_grade", "3")
    shots(clerk, "report-form")
    clerk.click("main form button[type=submit]")
    clerk.wait_for_load_state()
    claim = Claim.objects.get()
    detail = reverse("claims:claim_detail", args=[claim.pk])
    assert clerk.url == base + detail
    shots(clerk, "reported")

    # One file for each document on the checklist, until every item is ticked.
    codes = [
        value
        for value in clerk.locator("#id_requirement option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        if value
    ]
    assert codes
    for code in codes:
        clerk.select_option("#id_requirement", code)
        clerk.set_input_files("#id_file", str(document))
        clerk.click("form[action$='/documents/'] button")
        clerk.wait_for_load_state()
    assert clerk.locator("main .bi-check-circle").count() == len(codes)
    assert clerk.locator("main .bi-circle").count() == 0
    shots(clerk, "documents-complete")

    # The office opens it from the review queue once the engine has proposed an amount.
    office = portal.login(world.office_staff, shots=shots)
    office.goto(base + reverse("claims:claim_list") + "?status=reviewing")
    wait_for_selector(office, f"main a[href='{detail}']", worker=worker)
    shots(office, "review-queue")
    office.click(f"main a[href='{detail}']")
    office.wait_for_load_state()
    wait_for_selector(office, "main strong:text-is('¥500.00')", worker=worker)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING and claim.proposal["amount"] == "500.00"
    text = office.locator("main").inner_text()
    assert "¥500.00" in text and claim.proposal["lines"][0]["label"] in text
    shots(office, "review-with-proposal")

    # The office checks the account in full (an htmx button; the view is logged) and opens a
    # document, as a reviewer does.
    office.click("main .revealable button")
    office.wait_for_selector("main .revealed-value")
    assert office.locator("main .revealed-value").inner_text() == claim.payee_account
    shots(office, "account-shown-in-full")
    first_document = claim.documents.first()
    opened = office.request.get(
        base + reverse("claims:claim_document_download", args=[claim.pk, first_document.pk])
    )
    assert opened.ok and opened.body().startswith(b"%PDF")
    office.click("form[action$='/decide/'] button[type=submit]")
    office.wait_for_load_state()
    # The decision and its amount are shown once before they are recorded.
    shots(office, "decision-confirm")
    office.click("form[action$='/decide/'] button[type=submit]")
    office.wait_for_load_state()
    wait_for_selector(office, "a[href$='/notice/']", worker=worker)
    shots(office, "approved")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED

    with office.expect_download() as download:
        office.click("a[href$='/notice/']")
    notice = tmp_path / "notice.pdf"
    download.value.save_as(notice)
    assert notice.read_bytes().startswith(b"%PDF")

    # A payment batch, its bank workbook, and the bank's confirmation.
    office.goto(base + reverse("claims:batch_list"))
    shots(office, "batches")
    office.click("main form[method=post] button[type=submit]")
    office.wait_for_load_state()
    batch = PaymentBatch.objects.get()
    assert office.url == base + reverse("claims:batch_detail", args=[batch.pk])
    shots(office, "batch-open")
    with office.expect_download() as download:
        office.click("a[href$='/export/']")
    bank = tmp_path / "bank.xlsx"
    download.value.save_as(bank)
    cells = [c.value for row in openpyxl.load_workbook(bank).worksheets[0].iter_rows() for c in row]
    assert any(str(value).replace(",", "") in ("500", "500.0", "500.00") for value in cells)
    office.reload()
    shots(office, "batch-exported")
    # The bank's date (today, filled in) and its reference; then one confirmation page.
    office.fill("form[action$='/paid/'] input[name=bank_reference]", "BOC-JOURNEY-0001")
    office.click("form[action$='/paid/'] button")
    office.wait_for_load_state()
    shots(office, "batch-paid-confirm")
    office.click("form[action$='/paid/'] button[type=submit]")
    office.wait_for_load_state()
    shots(office, "batch-paid")
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID
    assert batch.bank_reference == "BOC-JOURNEY-0001"
    assert Payout.objects.get(claim=claim).status == Payout.Status.PAID
    assert claim.status == Claim.Status.PAID

    # Days later the bank returns the transfer: the card was closed.
    office.click("main a[href$='/return/']")
    office.wait_for_load_state()
    office.check("input[name=reason][value=closed]")
    shots(office, "transfer-return")
    office.click("form[action$='/return/'] button[type=submit]")
    office.wait_for_load_state()
    shots(office, "transfer-returned")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED
    assert Payout.objects.get(claim=claim).status == Payout.Status.FAILED

    # The claim says so; the clerk corrects the account (audited) and it is paid once, later.
    clerk.goto(base + detail)
    assert "付款失败" in clerk.locator("main").inner_text()
    shots(clerk, "payment-failed")
    clerk.click(f"main a[href='{reverse('claims:claim_payee', args=[claim.pk])}']")
    clerk.wait_for_load_state()
    clerk.fill("#id_payee_account", NEW_CARD)
    shots(clerk, "payee-corrected")
    clerk.click("form[action$='/payee/'] button[type=submit]")
    clerk.wait_for_load_state()
    claim.refresh_from_db()
    assert claim.payee_account == NEW_CARD
    office.goto(base + reverse("claims:batch_list"))
    office.click("main form[method=post] button[type=submit]")
    office.wait_for_load_state()
    second = PaymentBatch.objects.exclude(pk=batch.pk).get()
    with office.expect_download() as download:
        office.click("a[href$='/export/']")
    download.value.save_as(tmp_path / "bank-2.xlsx")
    cells = [
        str(c.value)
        for row in openpyxl.load_workbook(tmp_path / "bank-2.xlsx").worksheets[0].iter_rows()
        for c in row
    ]
    assert NEW_CARD in cells and claim.number in " ".join(cells)
    office.reload()
    office.fill("form[action$='/paid/'] input[name=bank_reference]", "BOC-JOURNEY-0002")
    office.click("form[action$='/paid/'] button")
    office.wait_for_load_state()
    office.click("form[action$='/paid/'] button[type=submit]")
    office.wait_for_load_state()
    shots(office, "second-batch-paid")
    second.refresh_from_db()
    claim.refresh_from_db()
    assert second.status == PaymentBatch.Status.PAID and claim.status == Claim.Status.PAID
    transfers = Transfer.objects.filter(payout__claim=claim)
    assert sorted(transfers.values_list("status", flat=True)) == ["paid", "returned"]
    assert sum(t.amount for t in transfers.filter(status="paid")) == Decimal("500.00")

    # The auditor reads the claim's audit trail: who opened its documents and saw its account.
    auditor = portal.login(world.auditor, shots=shots)
    auditor.goto(base + detail)
    trail = auditor.locator("#audit-trail")
    trail.scroll_into_view_if_needed()
    text = trail.inner_text()
    assert world.office_staff.display_name in text and world.clerk_a.display_name in text
    assert "理赔材料被打开" in text and "收款账号" in text
    shots(auditor, "claim-audit-trail")
    auditor.goto(base + reverse("oversight:audit_log"))
    auditor.fill("#id_record", claim.number)
    auditor.click("#audit-search button[type=submit]")
    auditor.wait_for_load_state()
    assert "理赔材料被打开" in auditor.locator("main").inner_text()
    shots(auditor, "audit-log-search")


def test_plan_admin_copies_edits_tries_and_publishes(portal, world, shots):
    plans_load_catalog()
    base = portal.base_url
    admin = portal.login(world.plan_admin, shots=shots)
    admin.goto(base + reverse("plans:plan_detail", args=[CODE]))
    shots(admin, "plan")
    admin.click("form[action$='/copy/'] button")
    admin.wait_for_load_state()
    assert admin.url == base + reverse("plans:version_edit", args=[CODE, 2])
    shots(admin, "draft-editor")

    admin.fill("input[name$='daily_rate_local']", "60.00")
    admin.fill("input[name$='stay_cap_local']", "5400.00")
    admin.fill("#id_version-effective_from", "2025-01-01")
    shots(admin, "edited")
    admin.click("#rules-editor button[type=submit]")
    admin.wait_for_load_state()
    assert admin.url == base + reverse("plans:version_try", args=[CODE, 2])
    shots(admin, "try-page")

    admin.fill("#id_coverage_start", "2025-01-01")
    admin.select_option("#id_claim0-benefit", "hospital_allowance")
    admin.fill("#id_claim0-admission_date", "2025-03-01")
    admin.fill("#id_claim0-discharge_date", "2025-03-11")
    admin.select_option("#id_claim0-hospital_locality", "local")
    admin.select_option("#id_claim0-hospital_grade", "3")
    shots(admin, "sample-claim")
    admin.click("main form[enctype] button[type=submit]")
    admin.wait_for_load_state()
    shots(admin, "side-by-side")
    row = admin.locator("main table tr", has_text="¥600.00")
    assert row.count() == 1
    assert "¥500.00" in row.inner_text()

    admin.fill("#id_version-effective_from", "2025-01-01")
    admin.click("form[action$='/publish/'] button")
    admin.wait_for_load_state()
    # Asked once, with what changes, before it is published.
    shots(admin, "publish-confirm")
    assert PlanVersion.objects.get(plan__code=CODE, number=2).status != "published"
    admin.click("button[name=confirmed]")
    admin.wait_for_load_state()
    assert admin.url == base + reverse("plans:plan_detail", args=[CODE])
    shots(admin, "published")
    version = PlanVersion.objects.get(plan__code=CODE, number=2)
    assert version.status == PlanVersion.Status.PUBLISHED
    assert version.effective_from == datetime.date(2025, 1, 1)
    section = admin.locator("section[aria-label='v2']")
    assert section.locator(".badge.text-bg-secondary").inner_text() == version.get_status_display()
    assert section.locator(".badge.text-bg-success").inner_text() == "今日有效"
