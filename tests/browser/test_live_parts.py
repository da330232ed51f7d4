"""The parts of pages that change by themselves, in a real Chromium (htmx under the portal's
Content Security Policy): the claim form's facts follow the chosen benefit, several documents go
up at once, and a decision notice's link replaces "being prepared" without a reload.

Run with `PORTAL_BROWSER_TESTS=1 ./scripts/test tests/browser`; screenshots of every step are in
test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from mutualaid.outbox.models import Job
from tests import factories
from tests.test_claim_journey import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_claim_form_asks_what_the_benefit_needs(portal, world, shots, tmp_path):
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    clerk = portal.login(world.clerk_a, shots=shots)
    clerk.goto(portal.base_url + reverse("claims:claim_report", args=[enrollment.pk]))
    assert clerk.locator("#id_fire_date").count() == 0  # this plan has no fire benefit
    clerk.select_option("#id_benefit", "critical_illness")
    clerk.wait_for_selector("#claim-facts[data-benefit='critical_illness']")
    assert clerk.locator("#id_diagnosis_date").count() == 1
    assert clerk.locator("#id_admission_date").count() == 0
    shots(clerk, "critical-illness-facts")
    clerk.select_option("#id_benefit", "accident")
    clerk.wait_for_selector("#claim-facts[data-benefit='accident']")
    assert clerk.locator("#id_diagnosis_date").count() == 0
    clerk.fill("#id_accident_date", "2026-04-02")
    clerk.select_option("#id_outcome", "death")
    shots(clerk, "accident-facts")
    clerk.click("main form button[type=submit]")
    clerk.wait_for_load_state()
    claim = Claim.objects.get()
    assert claim.benefit == "accident"
    assert claim.facts == {"accident_date": "2026-04-02", "outcome": "death"}

    # Two files at once for one document, one of them not a PDF at all: each gets its answer.
    good, bad = tmp_path / "事故证明-1.pdf", tmp_path / "事故证明-2.pdf"
    good.write_bytes(PDF)
    bad.write_bytes(b"not a pdf")
    clerk.select_option("#id_requirement", "accident_proof")
    clerk.set_input_files("#id_file", [str(good), str(bad)])
    clerk.click("form[action$='/documents/'] button")
    clerk.wait_for_load_state()
    alerts = clerk.locator("main .alert").all_inner_texts()
    assert any(text.startswith("事故证明-1.pdf") for text in alerts)
    assert any(text.startswith("事故证明-2.pdf") for text in alerts)
    assert [d.original_name for d in claim.documents.all()] == ["事故证明-1.pdf"]
    shots(clerk, "two-files-two-answers")


def test_the_decision_notice_link_appears_without_a_reload(portal, world, shots):
    enrollment = factories.enroll(world.member_a, factories.catalog_version())
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        status=Claim.Status.APPROVED,
        approved_amount=Decimal("500.00"),
        decided_at=timezone.now(),
    )
    # The worker has the job (queued, not run: no worker runs here).
    Job.objects.create(
        name="claims.tasks.claim_notice",
        args=[claim.pk],
        subject=f"claim:{claim.pk}",
        state=Job.State.SENT,
    )
    office = portal.login(world.office_staff, shots=shots)
    office.goto(portal.base_url + reverse("claims:claim_detail", args=[claim.pk]))
    office.wait_for_selector("#claim-notice .spinner-border")
    assert office.locator("a[href$='/notice/']").count() == 0
    shots(office, "notice-being-prepared")
    # What the worker does: the file is stored; the page polls and swaps the link in.
    claim.notice.save("notice.pdf", ContentFile(PDF))
    office.wait_for_selector("a[href$='/notice/']", timeout=15_000)
    assert office.locator("#claim-notice .spinner-border").count() == 0
    assert office.locator("#claim-notice[hx-trigger]").count() == 0
    shots(office, "notice-ready")
