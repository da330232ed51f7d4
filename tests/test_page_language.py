"""Every page speaks the reader's language: no code, English field name or storage path.

The pages are found by walking the URL resolver (tests.test_security.PAGES classifies them), and
each GET page is asked for by every role, in Chinese and in English, over a data set made the
way people make it: a roster uploaded with mistakes, fixed, submitted, approved and paid; a
second roster still full of findings; a claim reported, documented, decided, batched, exported
and paid; a plan with a second version that raises the daily rate; and the audit entries all of
that leaves. The visible text of each page (tags, attributes, scripts and styles removed) must
hold no snake_case code, no storage path, and, in Chinese, no English model field name.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import openpyxl
import pypdf
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, PaymentBatch, Payout
from claims.services import required_documents
from enrollment.models import Enrollment, Roster
from plans.models import PlanVersion
from plans.services import version_copy
from tests import factories
from tests.test_claim_journey import report
from tests.test_plan_admin import find, page_post
from tests.test_roster_journey import good_rows, person_id, upload, workbook
from tests.test_security import concrete_urls, site  # noqa: F401 - site is a fixture

PDF = factories.pdf_document()
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
STORAGE_PATH = re.compile(r"\w+/\d{4}/\d{2}/")
# The catalog's notes to plan admins about what still needs checking, never for anyone else.
CURATION_NOTES = ("[default]", "需管理员复核")
ROLES = ("clerk_a", "county_staff_a", "office_staff", "plan_admin", "auditor")
PROJECT_APPS = ("organisation", "plans", "enrollment", "claims", "oversight", "auditlog", "outbox")


class _Visible(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    HIDDEN = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_field_names() -> set[str]:
    """The names Django makes up for fields given no verbose name ("submitted at"), and the
    field names themselves: neither belongs in a Chinese page."""
    names = set()
    for config in apps.get_app_configs():
        if config.label not in PROJECT_APPS:
            continue
        for model in config.get_models():
            for f in model._meta.get_fields():
                name = getattr(f, "name", "")
                if not name or not getattr(f, "concrete", False):
                    continue
                names.add(name.replace("_", " "))
                verbose = str(getattr(f, "verbose_name", ""))
                if verbose.isascii():
                    names.add(verbose.lower())
    return {n for n in names if n and n.isascii() and len(n) > 2}


def problems(text: str, *, chinese: bool, field_names: set[str]) -> list[str]:
    def at(match: re.Match) -> str:
        return text[max(0, match.start() - 15) : match.end() + 15]

    found = [f"code {m.group()} in «{at(m)}»" for m in SNAKE.finditer(text)]
    found += [f"path {m.group()} in «{at(m)}»" for m in STORAGE_PATH.finditer(text)]
    if chinese:
        for name in field_names:
            m = re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text)
            if m:
                found.append(f"field name {name!r} in «{at(m)}»")
    return found


# --- the data set --------------------------------------------------------------------------------


def _run(site_):
    def run(action, *args, **kwargs):
        with site_.run(execute=True):
            return action(*args, **kwargs)

    return run


def _plan_v2(site_, run) -> None:
    """The site's draft raises the local daily rate, is published, and a third draft follows."""
    world = site_.world
    client = Client()
    client.force_login(world.plan_admin)
    code, number = site_.plan.code, site_.draft.number
    page = client.get(reverse("plans:version_edit", args=[code, number]))
    post = page_post(page.content.decode())
    post[find(post, "daily_rate_local")] = ["60.00"]
    post["version-effective_from"] = [site_.draft.effective_from.isoformat()]
    response = client.post(reverse("plans:version_edit", args=[code, number]), post)
    assert response.status_code == 302, response.content.decode()[:2000]
    publish = reverse("plans:version_publish", args=[code, number])
    day = site_.draft.effective_from.isoformat()
    response = run(client.post, publish, {"version-effective_from": day, "confirmed": "yes"})
    assert response.status_code == 302
    site_.published = PlanVersion.objects.get(pk=site_.draft.pk)
    site_.draft = version_copy(
        plan=site_.plan, user=world.plan_admin, effective_from=timezone.localdate()
    )


def _paid_roster(site_, run) -> Roster:
    world = site_.world
    clerk, office = Client(), Client()
    clerk.force_login(world.clerk_a)
    office.force_login(world.office_staff)
    world.unit_a.headcount = 4
    world.unit_a.save()
    Roster.objects.filter(pk=site_.roster.pk).update(status=Roster.Status.RETURNED)
    messy = good_rows(3) + [["赵六", person_id(51), "139043", "退休", "是", ""]]
    run(upload, clerk, workbook(messy))
    run(upload, clerk, workbook(good_rows(4)))
    roster = Roster.objects.filter(union=world.unit_a).latest("pk")
    assert roster.error_count == 0, list(roster.findings.values_list("code", flat=True))
    run(
        clerk.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    run(
        office.post,
        reverse("enrollment:roster_approve", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    url = reverse("enrollment:roster_payment", args=[roster.pk])
    roster.refresh_from_db()
    for payer, amount in (("unit", "320.00"), ("subsidy:吉林省直机关工会", "120.00")):
        if roster.status == Roster.Status.PAID:
            break
        run(
            office.post,
            url,
            {
                "payer": payer,
                "amount": amount,
                "received_on": "2025-12-20",
                "reference": f"B-{payer[:4]}",
                "confirmed": "yes",
            },
        )
        roster.refresh_from_db()
    return roster


def _roster_with_findings(site_, run) -> Roster:
    clerk = Client()
    clerk.force_login(site_.world.clerk_a)
    messy = good_rows(2, first=20) + [
        ["王五", person_id(60)[:-1] + ("0" if person_id(60)[-1] != "0" else "1"), "139", "退休"],
        ["赵七", person_id(61), "13904310061", "临时工", "否", ""],
    ]
    run(upload, clerk, workbook(messy))
    roster = Roster.objects.filter(union=site_.world.unit_a).latest("pk")
    assert roster.findings.exists()
    return roster


def _paid_claim(site_, run, roster: Roster) -> Claim:
    world = site_.world
    clerk, office = Client(), Client()
    clerk.force_login(world.clerk_a)
    office.force_login(world.office_staff)
    enrollment = Enrollment.objects.filter(roster=roster).first()
    report(clerk, enrollment, run, payee_name=enrollment.member.name)
    claim = Claim.objects.filter(enrollment=enrollment).latest("pk")
    for index, (code, _label) in enumerate(required_documents(claim), start=1):
        run(
            clerk.post,
            reverse("claims:claim_document_add", args=[claim.pk]),
            {"requirement": code, "file": SimpleUploadedFile(f"扫描件{index}.pdf", PDF)},
        )
    claim.refresh_from_db()
    amount = claim.proposal.get("amount") or "100.00"
    run(
        office.post,
        reverse("claims:claim_decide", args=[claim.pk]),
        {"approve": "pay", "amount": amount, "confirmed": "yes"},
    )
    payout = Payout.objects.get(claim=claim, kind=Payout.Kind.PRIMARY)
    run(office.post, reverse("claims:batch_list"), {"payout": [payout.pk]})
    batch = PaymentBatch.objects.filter(payouts=payout).get()
    office.get(reverse("claims:batch_export", args=[batch.pk]))
    run(
        office.post,
        reverse("claims:batch_paid", args=[batch.pk]),
        {
            "paid_on": timezone.localdate().isoformat(),
            "bank_reference": "BOC20261201-0001",
            "confirmed": "yes",
        },
    )
    claim.refresh_from_db()
    site_.paid_batch = batch
    return claim


@pytest.fixture
def data(site):  # noqa: F811 - the fixture imported above
    run = _run(site)
    _plan_v2(site, run)
    paid = _paid_roster(site, run)
    claim = _paid_claim(site, run, paid)
    findings = _roster_with_findings(site, run)
    site.findings_roster = findings
    site.paid_roster, site.paid_claim = paid, claim
    # Read in full, as people do: the audit log shows the views and downloads too.
    office = Client()
    office.force_login(site.world.office_staff)
    office.get(reverse("enrollment:roster_download", args=[paid.pk, "annotated"]))
    office.get(reverse("enrollment:roster_download", args=[paid.pk, "fee-notice"]))
    document = claim.documents.first()
    office.get(reverse("claims:claim_document_download", args=[claim.pk, document.pk]))
    extra = [
        reverse("enrollment:roster_detail", args=[paid.pk]),
        reverse("enrollment:roster_detail", args=[findings.pk]),
        reverse("enrollment:roster_detail", args=[findings.pk]) + "?code=id_checksum",
        reverse("claims:claim_detail", args=[claim.pk]),
        reverse("claims:batch_detail", args=[site.paid_batch.pk]),
        reverse("enrollment:member_detail", args=[claim.enrollment.member_id]),
        reverse("oversight:audit_log") + "?page=2",
    ]
    return site, extra


def _pages(site_, extra: list[str]) -> list[str]:
    urls = [
        u.url
        for u in concrete_urls(site_)
        if u.page is not None and u.page.get and not u.route.is_admin
    ]
    return list(dict.fromkeys(urls + extra))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_code_field_name_or_path_on_any_page(data, language):
    site_, extra = data
    field_names = english_field_names()
    failures: list[str] = []
    seen = 0
    for role in ROLES:
        client = Client()
        client.force_login(getattr(site_.world, role))
        client.cookies["django_language"] = language
        for url in _pages(site_, extra):
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            if getattr(response, "streaming", False):
                continue
            seen += 1
            text = visible_text(response.content.decode())
            for problem in problems(text, chinese=language == "zh-hans", field_names=field_names):
                failures.append(f"{role} {url}: {problem}")
            if role != "plan_admin" and any(note in text for note in CURATION_NOTES):
                failures.append(f"{role} {url}: a plan's curation note")
    assert seen > 40  # the walk really read the pages
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_checker_finds_what_it_should():
    """The check itself: codes, paths and field names in text are caught, attributes are not."""
    html = (
        '<div data-x="age_above_max"><script>var a_b = 1;</script>'
        "<p>年龄 age_above_max</p><p>rosters/2026/12/a.xlsx</p><p>submitted at: 2026</p></div>"
    )
    text = visible_text(html)
    assert "var" not in text
    found = problems(text, chinese=True, field_names={"submitted at"})
    assert any(p.startswith("code age_above_max") for p in found)
    assert any(p.startswith("path") for p in found)
    assert any(p.startswith("field name 'submitted at'") for p in found)
    assert (
        problems(
            visible_text('<a href="/x/?code=id_checksum">身份证校验</a>'),
            chinese=True,
            field_names=set(),
        )
        == []
    )


def test_the_checked_workbook_keeps_codes_in_its_one_code_column(data):
    """The annotated workbook speaks Chinese too: each finding by its label, its code only in
    the summary's 代码 column (for scripts), no storage path anywhere."""
    site_, _extra = data
    client = Client()
    client.force_login(site_.world.clerk_a)
    roster = site_.findings_roster
    roster.refresh_from_db()
    assert roster.annotated, "the worker annotated the roster"
    response = client.get(reverse("enrollment:roster_download", args=[roster.pk, "annotated"]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    texts: list[str] = []
    code_column = None
    codes_seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value == "代码":
                    code_column = (sheet.title, cell.column)
                elif code_column == (sheet.title, cell.column) and cell.value:
                    codes_seen += 1
                    continue
                if cell.value is not None:
                    texts.append(str(cell.value))
                if cell.comment is not None:
                    texts.append(cell.comment.text)
    assert code_column is not None and codes_seen >= 1
    text = " ".join(texts)
    assert not SNAKE.findall(text)
    assert not STORAGE_PATH.findall(text)


def test_the_pdfs_hold_no_code_or_path(data):
    """Fee notice, certificate list and decision notice: their text has no code or path."""
    site_, _extra = data
    client = Client()
    client.force_login(site_.world.office_staff)
    roster, claim = site_.paid_roster, site_.paid_claim
    urls = [
        reverse("enrollment:roster_download", args=[roster.pk, "fee-notice"]),
        reverse("enrollment:roster_download", args=[roster.pk, "certificates"]),
        reverse("claims:claim_notice", args=[claim.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pdf = pypdf.PdfReader(io.BytesIO(b"".join(response.streaming_content)))
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
        assert text.strip(), url
        assert not SNAKE.findall(text), (url, SNAKE.findall(text))
        assert not STORAGE_PATH.findall(text), url


def test_the_audit_trail_reads_as_people_write(data):
    """Files are said to be made or replaced (never their path), sizes in B/KB/MB, documents and
    benefits by name, plan versions by the plan's name, people by their names."""
    site_, _extra = data
    client = Client()
    client.force_login(site_.world.office_staff)
    client.cookies["django_language"] = "en"
    roster, claim = site_.paid_roster, site_.paid_claim
    claim_page = visible_text(
        client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    )
    assert re.search(r"size: \d+ B\b", claim_page)
    assert "Hospital allowance" in claim_page and "住院费用发票" in claim_page
    assert site_.world.office_staff.display_name in claim_page
    roster_page = visible_text(
        client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    )
    assert "checked workbook: generated" in roster_page
    assert ".xlsx:" not in roster_page and "annotated/" not in roster_page
    assert f"{site_.plan.display_name}, version 2" in roster_page
    assert f"{site_.plan.code} v" not in roster_page  # not the version's code
    assert "4 rows, 0 errors" in roster_page  # the worker's note, in the reader's language


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_trying_a_draft_names_findings_and_benefits(data, language):
    """The side-by-side trial of a draft (a POST, so not in the walk above) speaks plainly too."""
    site_, _extra = data
    client = Client()
    client.force_login(site_.world.plan_admin)
    client.cookies["django_language"] = language
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号", "用工类型", "是否参加医保"])
    for row in good_rows(2, first=70):
        sheet.append(row[:5])
    sheet.append(["退休者", person_id(80), "13904310080", "退休", "是"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "sample.xlsx"
    response = client.post(
        reverse("plans:version_try", args=[site_.plan.code, site_.draft.number]),
        {
            "coverage_start": "2026-01-01",
            "roster": out,
            "claim0-benefit": "hospital_allowance",
            "claim0-admission_date": "2026-03-01",
            "claim0-discharge_date": "2026-03-11",
            "claim0-hospital_locality": "local",
            "claim0-hospital_grade": "3",
        },
    )
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert "¥600.00" in text  # the trial really ran
    found = problems(text, chinese=language == "zh-hans", field_names=english_field_names())
    assert not found, found
