"""The claim report form asks only what the chosen benefit needs (read from the plan version's
rules, by the kind of each benefit), htmx swaps those facts in when the benefit changes, and
documents can be added several at once, each checked and stored on its own."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.forms import MAX_FILES_AT_ONCE, ClaimReportForm
from claims.models import Claim, ClaimDocument
from mutualaid.auditlog.models import AuditEntry
from plans.engine.rules import parse_rules
from tests import factories
from tests.test_claim_journey import HOSPITAL, PDF, PNG, report

HTMX = {"HTTP_HX_REQUEST": "true"}
FACTS = (
    "admission_date",
    "discharge_date",
    "hospital_name",
    "hospital_locality",
    "hospital_grade",
    "diagnosis_date",
    "diagnosis",
    "accident_date",
    "outcome",
    "disability_grade",
    "during_hospital_stay",
    "work_injury",
    "eligible_cost",
    "fire_date",
)


def asked(html: str) -> set[str]:
    """The fact fields a page or fragment puts in front of the clerk."""
    return {name for name in FACTS if re.search(rf'name="{name}"', html)}


def facts_url(enrollment) -> str:
    return reverse("claims:claim_report_facts", args=[enrollment.pk])


def report_url(enrollment) -> str:
    return reverse("claims:claim_report", args=[enrollment.pk])


@pytest.fixture
def fire_cover(world):
    """Member A also holds cover in a plan with a fire benefit (accident and fire_loss)."""
    return factories.enroll(world.member_a, factories.catalog_version("beijing-nonwork-2011"))


def test_a_plan_without_a_fire_benefit_never_asks_the_fire_date(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_a)
    client.cookies["django_language"] = "en"
    page = client.get(report_url(enrollment)).content.decode()
    # No benefit chosen yet: what any of the plan's benefits needs, and nothing else.
    assert "fire_date" not in page and "Date of the fire" not in page
    assert "eligible_cost" not in page and "work_injury" not in page
    assert {"admission_date", "diagnosis_date", "accident_date"} <= asked(page)
    for code in ("hospital_allowance", "critical_illness", "accident", "fire_loss", "nonsense"):
        fragment = client.get(facts_url(enrollment), {"benefit": code}, **HTMX).content.decode()
        assert "fire_date" not in asked(fragment), code


def test_hospital_allowance_asks_admission_discharge_and_hospital_only(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_a)
    fragment = client.get(facts_url(enrollment), {"benefit": "hospital_allowance"}, **HTMX)
    assert fragment.status_code == 200
    assert asked(fragment.content.decode()) == {
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_locality",
        "hospital_grade",
    }
    # The whole page, with the benefit chosen by a GET parameter (a browser without script).
    page = client.get(report_url(enrollment), {"benefit": "hospital_allowance"}).content.decode()
    assert asked(page) == asked(fragment.content.decode())
    assert re.search(r'<option value="hospital_allowance"[^>]*selected', page)


def test_each_benefit_asks_what_its_kind_and_rules_need(client, world, covered, fire_cover):
    jilin, _run = covered
    client.force_login(world.clerk_a)

    def fields(enrollment, code):
        response = client.get(facts_url(enrollment), {"benefit": code}, **HTMX)
        return asked(response.content.decode())

    assert fields(jilin, "critical_illness") == {"diagnosis_date", "diagnosis", "hospital_name"}
    # Jilin pays a higher base for an accident in hospital and covers work injuries too.
    assert fields(jilin, "accident") == {
        "accident_date",
        "outcome",
        "disability_grade",
        "during_hospital_stay",
    }
    # Beijing's non-work plan excludes work injuries and has no in-hospital base.
    assert fields(fire_cover, "accident") == {
        "accident_date",
        "outcome",
        "disability_grade",
        "work_injury",
    }
    assert fields(fire_cover, "fire_loss") == {"fire_date", "eligible_cost"}


def test_the_facts_follow_the_benefits_kind_not_its_code(db):
    version = factories.catalog_version()
    data = version.parsed_rules.to_dict()
    for benefit in data["benefits"]:
        benefit["code"] = {"hospital_allowance": "zhuyuan"}.get(benefit["code"], benefit["code"])
    rules = parse_rules(data)
    form = ClaimReportForm(rules=rules, benefit="zhuyuan")
    assert {name for name in FACTS if name in form.fields} == {
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_locality",
        "hospital_grade",
    }
    assert form.fields["discharge_date"].required and not form.fields["benefit"].initial


def test_the_fragment_is_a_fragment_and_reveals_no_card(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_a)
    response = client.get(facts_url(enrollment), {"benefit": "accident"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<fieldset") and "<html" not in html
    assert 'id="claim-facts"' in html and 'data-benefit="accident"' in html
    assert world.member_a.bank_card not in html
    # Only the page fills in (and logs) the card on file.
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).exists()
    # The page's benefit menu asks for this fragment when it changes.
    page = client.get(report_url(enrollment)).content.decode()
    assert f'hx-get="{facts_url(enrollment)}"' in page and 'hx-target="#claim-facts"' in page


def test_the_fragment_is_scoped_as_the_report_page(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_b)
    assert client.get(facts_url(enrollment), {"benefit": "accident"}).status_code == 404
    client.force_login(world.office_staff)
    assert client.get(facts_url(enrollment), {"benefit": "accident"}).status_code == 403


def test_facts_posted_for_another_benefit_are_not_stored(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    response = report(
        client,
        enrollment,
        run,
        diagnosis_date="2026-02-01",
        diagnosis="肺癌",
        accident_date="2026-02-02",
        outcome="death",
        during_hospital_stay="on",
        fire_date="2026-02-03",
        eligible_cost="999.00",
    )
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert claim.benefit == "hospital_allowance"
    assert set(claim.facts) == {
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_locality",
        "hospital_grade",
    }
    assert claim.event_date == datetime.date(2026, 3, 1)


def test_only_the_chosen_benefits_facts_are_required(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    client.cookies["django_language"] = "en"
    # An accident needs its date and outcome, not a hospital stay.
    accident = {
        "benefit": "accident",
        "accident_date": "2026-04-02",
        "outcome": "death",
        "payee_name": "甲职工",
        "payee_account": HOSPITAL["payee_account"],
    }
    assert run(client.post, report_url(enrollment), accident).status_code == 302
    claim = Claim.objects.get()
    assert claim.facts == {"accident_date": "2026-04-02", "outcome": "death"}
    assert claim.event_date == datetime.date(2026, 4, 2)

    # A critical illness posted with a hospital stay's facts lacks its own, and says so there.
    illness = dict(HOSPITAL, benefit="critical_illness")
    response = run(client.post, report_url(enrollment), illness)
    assert response.status_code == 200 and Claim.objects.count() == 1
    form = response.context["form"]
    assert {"diagnosis_date", "diagnosis"} <= set(form.errors)
    assert "admission_date" not in form.fields
    assert asked(response.content.decode()) == {"diagnosis_date", "diagnosis", "hospital_name"}


def _stored(claim: Claim) -> set[str]:
    from django.core.files.storage import default_storage

    folder = Path(default_storage.location) / "claims" / str(claim.pk)
    if not folder.exists():
        return set()
    return {f"claims/{claim.pk}/{path.name}" for path in folder.iterdir()}


def test_several_documents_at_once_each_with_its_own_answer(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    client.cookies["django_language"] = "en"
    report(client, enrollment, run)
    claim = Claim.objects.get()
    url = reverse("claims:claim_detail", args=[claim.pk])
    page = client.get(url).content.decode()
    assert re.search(r'<input type="file" name="file"[^>]*multiple', page)

    before = _stored(claim)
    response = run(
        client.post,
        reverse("claims:claim_document_add", args=[claim.pk]),
        {
            "requirement": "invoice",
            "file": [
                SimpleUploadedFile("page-1.pdf", PDF),
                SimpleUploadedFile("fake.pdf", b"<script>alert(1)</script>"),
                SimpleUploadedFile("empty.png", b""),
                SimpleUploadedFile("page-2.png", PNG),
            ],
        },
        follow=True,
    )
    documents = list(claim.documents.order_by("pk"))
    assert [d.original_name for d in documents] == ["page-1.pdf", "page-2.png"]
    assert {d.requirement for d in documents} == {"invoice"}
    # Nothing half-saved: exactly the accepted files are on disk, each with its row.
    assert _stored(claim) - before == {d.file.name for d in documents}
    answers = [str(m) for m in response.context["messages"]]
    assert "page-1.pdf: added." in answers and "page-2.png: added." in answers
    refused = [a for a in answers if a.startswith(("fake.pdf:", "empty.png:"))]
    assert len(refused) == 2 and all("refused" in a for a in refused)
    assert "The file is empty." in next(a for a in refused if a.startswith("empty.png"))
    html = response.content.decode()
    assert "fake.pdf: refused." in html and "page-2.png: added." in html


def test_too_many_files_at_once_are_all_turned_away(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    files = [SimpleUploadedFile(f"p{i}.pdf", PDF) for i in range(MAX_FILES_AT_ONCE + 1)]
    run(
        client.post,
        reverse("claims:claim_document_add", args=[claim.pk]),
        {"requirement": "invoice", "file": files},
    )
    assert not ClaimDocument.objects.exists()
