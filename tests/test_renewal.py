"""Renewal without a private spreadsheet: the renewal workbook reads back through the roster check
with no errors and the renewal diff shows who left and who joined; it and the member list are
full views of personal data (roles that may see numbers in full, scoped, POST-only, audited,
counted against the reveal limits); the upload form remembers the unit's funding choice."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment import renewal
from enrollment.annotate import HEADER_ROW, ROSTER_SHEET
from enrollment.models import Enrollment, Roster
from mutualaid.auditlog.models import AuditEntry
from organisation.models import Member
from plans.engine.findings import ERROR
from plans.engine.roster import check_roster
from plans.models import Plan
from tests import factories

PLAN = "jilin-allowance-2020"
NEXT = datetime.date(2027, 1, 1)
Action = AuditEntry.Action


def _people(union, count: int, version, **enroll) -> list[Member]:
    people = []
    for i in range(count):
        member = factories.MemberFactory(
            union=union,
            name=f"续{chr(0x4E00 + i)}",
            phone=f"1390431{i:04d}",
            gender=Member.Gender.FEMALE if i % 2 else Member.Gender.MALE,
            birth_date=datetime.date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
        )
        # The ID must agree with the birth date and gender the workbook writes beside it.
        member.id_number = factories.make_id_number(member.birth_date, "F" if i % 2 else "M")
        member.save()
        factories.enroll(member, version, **enroll)
        people.append(member)
    return people


@pytest.fixture
def renewing(world):
    """Unit A: 6 people enrolled for 2026 in the Jilin plan, headcount 6 (100% rule)."""
    version = factories.catalog_version(PLAN)
    people = _people(world.unit_a, 6, version)
    world.unit_a.headcount = 6
    world.unit_a.save()
    return version, people


def _download(client, world, code: str = PLAN):
    return client.post(reverse("enrollment:renewal_workbook", args=[world.unit_a.pk, code]))


def _upload(client, data: bytes, *, unit="60", member="40"):
    return client.post(
        reverse("enrollment:roster_upload"),
        {
            "plan": PLAN,
            "coverage_start": NEXT.isoformat(),
            "unit_percent": unit,
            "union_percent": "0",
            "member_percent": member,
            "file": SimpleUploadedFile("续交名单.xlsx", data),
        },
    )


def _errors(roster: Roster) -> list[tuple]:
    return list(roster.findings.filter(level=ERROR).values_list("row", "code", "message"))


def test_download_upload_check_has_no_errors_and_the_diff_shows_leavers_and_joiners(
    client, world, renewing, django_capture_on_commit_callbacks
):
    _version, people = renewing
    client.force_login(world.clerk_a)
    response = _download(client, world)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = response.content
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[ROSTER_SHEET]
    headers = [c.value for c in sheet[HEADER_ROW]]
    ids = [sheet.cell(row=r, column=headers.index("身份证号") + 1).value for r in range(3, 9)]
    assert sorted(ids) == sorted(p.id_number for p in people)
    assert all(isinstance(i, str) for i in ids)  # text, never a number
    assert sheet.cell(row=3, column=headers.index("身份证号") + 1).number_format == "@"
    # The download is a full view of six people's numbers, recorded as such.
    entry = AuditEntry.objects.get(note="renewal_workbook")
    assert entry.action == Action.VIEW and entry.count == 6
    assert entry.actor == world.clerk_a and entry.union_id == world.unit_a.pk

    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, data).status_code == 302
    roster = Roster.objects.get(union=world.unit_a, coverage_start=NEXT)
    assert roster.status == Roster.Status.CHECKED, roster.problem
    assert _errors(roster) == []
    assert roster.rows_valid == 6
    assert roster.renewal["previous"] == 6
    assert (roster.renewal["added_count"], roster.renewal["dropped_count"]) == (0, 0)
    assert roster.renewal["changed_count"] == 0

    # Two left, three joined.
    leaving = {sheet.cell(row=r, column=1).value for r in (4, 6)}
    sheet.delete_rows(6)
    sheet.delete_rows(4)
    column = {header: index + 1 for index, header in enumerate(headers)}
    for serial in range(3):
        birth = datetime.date(1990, 3, 10 + serial)
        row = sheet.max_row + 1
        values = {
            "姓名": f"新{chr(0x4E10 + serial)}",
            "身份证号": factories.make_id_number(birth, "M"),
            "性别": "男",
            "出生日期": birth,
            "手机号": f"1370431{serial:04d}",
            "用工类型": "合同制职工",
            "是否参加医保": "是",
        }
        for header, value in values.items():
            if header in column:
                sheet.cell(row=row, column=column[header], value=value)
    out = io.BytesIO()
    book.save(out)
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, out.getvalue()).status_code == 302
    roster.refresh_from_db()
    assert _errors(roster) == []
    assert roster.rows_valid == 7
    assert (roster.renewal["added_count"], roster.renewal["dropped_count"]) == (3, 2)
    assert {p["name"] for p in roster.renewal["dropped"]} == leaving


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        # 份数 and 高危行业 columns; two shares each (the plan may ask them uniform per unit).
        ("linyi-accident-2019", {"shares": 2}),
        # 职业类别, only new-employment-form workers, medical insurance required.
        ("shaanxi-gig-2023", {}),
    ],
)
def test_every_column_of_the_template_is_filled_and_reads_back(world, code, extra):
    version = factories.catalog_version(code)
    people = _people(world.unit_a, 4, version, **extra)
    for member in people:
        member.employment_type = Member.EmploymentType.NEW_FORM
        member.occupation = Member.Occupation.COURIER
        member.high_risk = True
        member.save()
    plan = version.plan
    data, count, start = renewal.renewal_workbook(world.unit_a, plan)
    assert (count, start) == (4, datetime.date(2026, 1, 1))
    sheet = openpyxl.load_workbook(io.BytesIO(data))[ROSTER_SHEET]
    headers = [c.value for c in sheet[HEADER_ROW]]
    for header in headers:
        if header == "备注":
            continue
        cells = [sheet.cell(row=r, column=headers.index(header) + 1).value for r in range(3, 7)]
        assert all(value not in (None, "") for value in cells), header
    result = check_roster(
        data,
        rules=version.parsed_rules,
        plan_code=code,
        coverage_start=NEXT,
        headcount=4,
        today=datetime.date(2026, 12, 1),
    )
    assert [f for f in result.findings if f.level == ERROR] == []
    assert result.valid_rows == 4
    if "份数" in headers:
        assert {r.shares for r in result.all_rows} == {2}
        assert {r.high_risk for r in result.all_rows} == {True}


def test_only_the_latest_period_and_held_cover_are_in_the_workbook(world):
    version = factories.catalog_version(PLAN)
    old, stays, cancelled = (factories.MemberFactory(union=world.unit_a) for _ in range(3))
    factories.enroll(old, version, coverage_start=datetime.date(2025, 1, 1))
    factories.enroll(stays, version, coverage_start=datetime.date(2025, 1, 1))
    factories.enroll(stays, version, coverage_start=datetime.date(2026, 1, 1))
    factories.enroll(
        cancelled,
        version,
        coverage_start=datetime.date(2026, 1, 1),
        status=Enrollment.Status.CANCELLED,
    )
    # Another unit's cover in the same plan is not this unit's.
    factories.enroll(world.member_b, version)
    start, people = renewal.renewal_people(world.unit_a, version.plan)
    assert start == datetime.date(2026, 1, 1)
    assert [m for m, _ in people] == [stays]


def test_roles_and_scope(client, world, renewing):
    url = reverse("enrollment:renewal_workbook", args=[world.unit_a.pk, PLAN])
    export = reverse("enrollment:member_export", args=[world.unit_a.pk])
    for user in (world.county_staff_a, world.office_staff):
        client.force_login(user)
        assert client.post(url).status_code == 200
        assert client.post(export).status_code == 200
    for user in (world.auditor, world.plan_admin):
        client.force_login(user)
        assert client.post(url).status_code == 403
        assert client.post(export).status_code == 403
    for user in (world.clerk_b, world.other_office_staff):
        client.force_login(user)
        assert client.post(url).status_code == 404
        assert client.post(export).status_code == 404
    client.force_login(world.clerk_a)
    assert client.get(url).status_code == 405  # a full view is asked for, never prefetched
    # Only units have workbooks.
    county = reverse("enrollment:renewal_workbook", args=[world.county_a.pk, PLAN])
    client.force_login(world.county_staff_a)
    assert client.post(county).status_code == 404
    assert AuditEntry.objects.filter(note="renewal_workbook").count() == 2
    assert AuditEntry.objects.filter(note="member_list_export").count() == 2


def test_the_downloads_count_against_the_reveal_limits(client, world, renewing, settings):
    settings.REVEAL_LIMIT_PER_MINUTE = 3
    settings.REVEAL_LIMIT_PER_DAY = 5
    client.force_login(world.clerk_a)
    member = renewing[1][0]
    reveal = reverse("enrollment:member_reveal", args=[member.pk, "id_number"])
    assert client.post(reveal).status_code == 200
    assert _download(client, world).status_code == 200
    export = reverse("enrollment:member_export", args=[world.unit_a.pk])
    assert client.post(export).status_code == 200
    refused = _download(client, world)
    assert refused.status_code == 429
    assert not refused["Content-Type"].startswith("application/vnd")
    assert member.id_number not in refused.content.decode()
    assert client.post(export).status_code == 429
    assert client.post(reveal).status_code == 429
    notes = list(
        AuditEntry.objects.filter(action=Action.REFUSED)
        .order_by("pk")
        .values_list("note", "params__asked")
    )
    assert notes == [
        ("reveal_limit_minute", "renewal_workbook"),
        ("reveal_limit_minute", "member_list_export"),
        ("reveal_limit_minute", "id_number_shown"),
    ]


def test_member_list_is_neutralised_scoped_and_shows_cover(client, world, renewing):
    hostile = factories.MemberFactory(union=world.unit_a, name="=1+2", phone="")
    client.force_login(world.clerk_a)
    response = client.post(reverse("enrollment:member_export", args=[world.unit_a.pk]))
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    names = [row[0] for row in rows[1:]]
    assert "'=1+2" in names and "=1+2" not in names
    assert world.member_b.name not in names  # another unit's member
    assert len(rows) - 1 == Member.objects.filter(union=world.unit_a).count()
    by_id = {row[1]: row for row in rows[1:]}
    first = renewing[1][0]
    assert by_id[first.id_number][4] == first.phone
    assert "2026-01-01" in by_id[first.id_number][11]
    assert by_id[hostile.id_number][11] in ("", None)
    entry = AuditEntry.objects.get(note="member_list_export")
    assert entry.count == len(rows) - 1


def _funding_roster(world, version, **funding):
    return factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        created_by=world.clerk_a,
        status=Roster.Status.PAID,
        payment_amount=1,
        funding={"mode": None, "percent": funding, "amounts": {}},
    )


def test_upload_form_remembers_the_units_funding_for_the_plan(client, world, renewing):
    version = renewing[0]
    _funding_roster(world, version, unit="70.00", union="0.00", member="30.00")
    other = factories.catalog_version("linyi-accident-2019")
    client.force_login(world.clerk_a)

    page = client.get(reverse("enrollment:roster_upload"), {"plan": PLAN})
    form = page.context["form"]
    assert form.initial["unit_percent"] == 70 and form.initial["member_percent"] == 30
    html = page.content.decode()
    assert 'id="funding-remembered"' in html
    assert reverse("enrollment:renewal_workbook", args=[world.unit_a.pk, PLAN]) in html

    # Picking a plan in the form swaps the funding fields for that plan's remembered choice.
    panel = client.get(reverse("enrollment:upload_plan_panel"), {"plan": PLAN})
    text = panel.content.decode()
    assert 'id="funding-fields" class="border rounded p-3 mb-3" hx-swap-oob="true"' in text
    assert 'name="unit_percent" value="70"' in text
    assert 'name="member_percent" value="30"' in text
    # A plan the unit never used: the defaults, and no renewal workbook to offer.
    panel = client.get(reverse("enrollment:upload_plan_panel"), {"plan": other.plan.code})
    text = panel.content.decode()
    assert 'name="unit_percent" value="100"' in text
    assert 'id="funding-remembered"' not in text
    assert "renewal-download" not in text
    # Plan select points at the panel (htmx, no inline script).
    assert reverse("enrollment:upload_plan_panel") in html
    assert "<script>" not in html


def test_unit_page_offers_the_downloads_to_who_may_have_them(client, world, renewing):
    url = reverse("enrollment:union_detail", args=[world.unit_a.pk])
    client.force_login(world.clerk_a)
    html = client.get(url).content.decode()
    assert reverse("enrollment:renewal_workbook", args=[world.unit_a.pk, PLAN]) in html
    assert reverse("enrollment:member_export", args=[world.unit_a.pk]) in html
    client.force_login(world.auditor)
    html = client.get(url).content.decode()
    assert 'id="unit-renewal"' not in html
    assert Plan.objects.filter(code=PLAN).exists()


def test_the_demo_clerks_renewal_workbook_reads_back_clean(client, db):
    """The browser journey's start: the demo clerk's unit of 120 renews everyone."""
    from demo.demo import UNITS, demo_load
    from organisation.models import Union, User
    from plans.services import plans_load_catalog

    plans_load_catalog()
    demo_load()
    unit = Union.objects.get(code=UNITS[0].code)
    assert unit.headcount == 120
    client.force_login(User.objects.get(username="clerk"))
    html = client.get(reverse("enrollment:union_detail", args=[unit.pk])).content.decode()
    url = reverse("enrollment:renewal_workbook", args=[unit.pk, PLAN])
    assert url in html
    response = client.post(url)
    assert response.status_code == 200
    version = renewal.published_version(Plan.objects.get(code=PLAN))
    result = check_roster(
        response.content,
        rules=version.parsed_rules,
        plan_code=PLAN,
        coverage_start=NEXT,
        headcount=unit.headcount,
        today=datetime.date(2026, 12, 1),
    )
    assert [f for f in result.findings if f.level == ERROR] == []
    assert result.valid_rows == 120
    # The upload form starts from the unit's last split (60% unit, 40% members).
    form = client.get(reverse("enrollment:roster_upload"), {"plan": PLAN}).context["form"]
    assert (form.initial["unit_percent"], form.initial["member_percent"]) == (60, 40)
