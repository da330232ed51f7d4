"""The clerk's and the office's whole roster journey, through the pages, with the worker's tasks
run as they are enqueued (eagerly, after each transaction commits)."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment.models import Enrollment, Roster, ShareHolding
from plans.engine.identity import id_check_digit
from plans.services import plans_load_catalog

START = datetime.date(2026, 1, 1)
HEADER = ["姓名", "身份证号", "手机号", "用工类型", "是否参加医保", "银行卡号"]


def person_id(serial: int, birth: datetime.date = datetime.date(1986, 3, 9)) -> str:
    first17 = f"220104{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


def good_rows(count: int, first: int = 1) -> list[list[object]]:
    return [
        [
            f"李{chr(0x4E00 + i)}",
            person_id(first + i),
            f"1390431{first + i:04d}",
            "正式职工",
            "是",
            "6222021234567890128",
        ]
        for i in range(count)
    ]


def workbook(rows: list[list[object]], *, title: bool = True) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    if title:
        sheet.append(["2026年度职工互助保障参保名单"])
        sheet.merge_cells("A1:F1")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(
    client,
    data: bytes,
    *,
    plan="jilin-allowance-2020",
    unit="60",
    member="40",
    union="0",
    name="名单.xlsx",
):
    return client.post(
        reverse("enrollment:roster_upload"),
        {
            "plan": plan,
            "coverage_start": START.isoformat(),
            "unit_percent": unit,
            "union_percent": union,
            "member_percent": member,
            "file": SimpleUploadedFile(name, data),
        },
    )


@pytest.fixture
def journey(world, client, django_capture_on_commit_callbacks):
    plans_load_catalog()
    world.unit_a.headcount = 4
    world.unit_a.save()
    client.force_login(world.clerk_a)

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def test_clerk_downloads_a_template_for_a_plan(client, world):
    plans_load_catalog()
    client.force_login(world.clerk_a)
    response = client.get(reverse("enrollment:roster_template", args=["jilin-allowance-2020"]))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "姓名" in [c.value for c in book.worksheets[0][2]] + [
        c.value for c in book.worksheets[0][1]
    ]


def test_whole_journey_from_messy_roster_to_active_cover(client, world, journey):
    messy = good_rows(3) + [
        [
            "王五",
            person_id(50)[:-1] + ("0" if person_id(50)[-1] != "0" else "1"),
            "13904310050",
            "正式职工",
            "是",
            "",
        ],
        ["赵六", person_id(51), "139043", "退休", "是", ""],
    ]
    response = journey(upload, client, workbook(messy))
    roster = Roster.objects.get(union=world.unit_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("enrollment:roster_detail", args=[roster.pk])
    assert roster.status == Roster.Status.CHECKED
    assert roster.rows_total == 5 and roster.rows_valid == 3
    codes = set(roster.findings.values_list("code", flat=True))
    assert {"id_checksum", "phone_invalid", "employment_type_ineligible"} <= codes
    bad_row = roster.findings.get(code="id_checksum")
    assert bad_row.row == 6  # title row, header row, three good rows: the fourth data row is 6

    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert "id_checksum" in page
    filtered = client.get(
        reverse("enrollment:roster_detail", args=[roster.pk]), {"code": "phone_invalid"}
    ).content.decode()
    assert "phone_invalid" in filtered

    annotated = client.get(reverse("enrollment:roster_download", args=[roster.pk, "annotated"]))
    assert annotated.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(annotated.streaming_content)))
    sheet = book["名单"]
    assert sheet.cell(row=6, column=2).comment is not None
    assert (
        "校验" in sheet.cell(row=6, column=2).comment.text
        or sheet.cell(row=6, column=2).comment.text
    )

    # A roster with errors cannot be submitted.
    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED
    assert not Enrollment.objects.exists()

    # The clerk fixes the file and uploads it again: the draft is replaced, not duplicated.
    journey(upload, client, workbook(good_rows(4)))
    assert Roster.objects.filter(union=world.unit_a).count() == 1
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and roster.error_count == 0
    assert str(roster.fee_total) == "440.00"
    assert roster.funding["amounts"] == {"subsidy": "120.00", "unit": "192.00", "member": "128.00"}

    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    assert Enrollment.objects.filter(roster=roster, status="pending").count() == 4

    # Submitting again enrolls nobody twice.
    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    assert Enrollment.objects.filter(roster=roster).count() == 4

    client.force_login(world.office_staff)
    queue = client.get(reverse("enrollment:roster_list"), {"status": "submitted"})
    assert world.unit_a.name in queue.content.decode()
    journey(
        client.post,
        reverse("enrollment:roster_approve", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED
    assert roster.fee_notice

    # The unit owes 320.00 (its 192.00 and the members' 128.00), the giver the 120.00 subsidy.
    url = reverse("enrollment:roster_payment", args=[roster.pk])
    wrong = journey(
        client.post,
        url,
        {"payer": "unit", "amount": "440.00", "received_on": "2025-12-20", "reference": "BANK-1"},
        follow=True,
    )
    assert "320.00" in wrong.content.decode()
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED and not roster.receipts.exists()

    unit = {"payer": "unit", "amount": "320.00", "received_on": "2025-12-20", "reference": "B-1"}
    confirm = journey(client.post, url, unit)
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.content.decode()
    assert not roster.receipts.exists()
    journey(client.post, url, {**unit, "confirmed": "yes"})
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED
    giver = {
        "payer": "subsidy:吉林省直机关工会",
        "amount": "120.00",
        "received_on": "2025-12-21",
        "reference": "B-2",
    }
    journey(client.post, url, {**giver, "confirmed": "yes"})
    roster.refresh_from_db()
    assert roster.payment_amount == Decimal("440.00")
    assert roster.status == Roster.Status.PAID
    assert Enrollment.objects.filter(roster=roster, status="active").count() == 4
    assert roster.certificates
    pdf = client.get(reverse("enrollment:roster_download", args=[roster.pk, "certificates"]))
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_return_with_a_reason_releases_the_shares(client, world, journey):
    journey(upload, client, workbook(good_rows(4)))
    roster = Roster.objects.get(union=world.unit_a)
    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    client.force_login(world.office_staff)
    empty = journey(
        client.post,
        reverse("enrollment:roster_return", args=[roster.pk]),
        {"reason": "  "},
        follow=True,
    )
    assert "说明退回原因" in empty.content.decode() or "reason" in empty.content.decode()
    journey(
        client.post,
        reverse("enrollment:roster_return", args=[roster.pk]),
        {"reason": "请补充三名临时职工的劳动合同"},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.RETURNED
    assert not Enrollment.objects.filter(roster=roster).exclude(status="cancelled").exists()
    assert set(ShareHolding.objects.values_list("shares", flat=True)) == {0}
    client.force_login(world.clerk_a)
    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert "请补充三名临时职工的劳动合同" in page


def test_a_person_enrolled_through_another_union_is_already_enrolled(client, world, journey):
    journey(upload, client, workbook(good_rows(4)))
    first = Roster.objects.get(union=world.unit_a)
    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[first.pk]),
        {"confirmed": str(first.check_token)},
    )

    world.unit_b.headcount = 2
    world.unit_b.save()
    client.force_login(world.clerk_b)
    journey(upload, client, workbook(good_rows(1, first=1) + good_rows(1, first=90)))
    second = Roster.objects.get(union=world.unit_b)
    assert second.status == Roster.Status.CHECKED
    finding = second.findings.get(code="already_enrolled")
    assert finding.row == 3


def test_funding_rules_are_enforced_on_upload(client, world, journey):
    response = journey(
        upload,
        client,
        workbook(good_rows(4)),
        plan="linyi-inpatient-2019",
        unit="40",
        union="20",
        member="40",
    )
    assert response.status_code == 200
    assert "70%" in response.content.decode()
    assert not Roster.objects.exists()


def test_a_bad_file_is_refused_and_nothing_is_kept(client, world, journey):
    journey(upload, client, "name,id\n张三,1\n".encode(), name="名单.xlsx")
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.status == Roster.Status.REFUSED
    assert not roster.file
    assert roster.findings.get().code == "file_not_xlsx"
    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert roster.problem in page


def test_an_empty_upload_is_refused_by_the_form(client, world, journey):
    response = journey(upload, client, b"")
    assert response.status_code == 200
    assert not Roster.objects.exists()


def test_renewal_shows_who_was_added_dropped_and_changed(client, world, journey):
    from tests.factories import catalog_version, enroll

    version = catalog_version()
    previous = datetime.date(2025, 1, 1)
    rows = good_rows(4)
    from enrollment.services import member_upsert

    kept = [
        member_upsert(
            id_number=r[1],
            name=r[0],
            union=world.unit_a,
            employment_type="正式职工",
            phone=r[2],
            bank_card=r[5],
        )
        for r in rows[:3]
    ]
    gone = member_upsert(
        id_number=person_id(77), name="钱七", union=world.unit_a, employment_type="正式职工"
    )
    for member in (*kept, gone):
        enroll(member, version, coverage_start=previous)
    rows[0][2] = "13904319999"
    journey(upload, client, workbook(rows))
    roster = Roster.objects.get(union=world.unit_a, coverage_start=START)
    assert roster.renewal["added_count"] == 1
    assert roster.renewal["dropped_count"] == 1
    assert roster.renewal["changed_count"] == 1
    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert "钱七" in page


def test_only_clerks_upload_and_only_office_staff_approve(client, world, journey):
    journey(upload, client, workbook(good_rows(4)))
    roster = Roster.objects.get(union=world.unit_a)
    journey(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    client.force_login(world.office_staff)
    assert client.get(reverse("enrollment:roster_upload")).status_code == 403
    client.force_login(world.clerk_a)
    assert client.post(reverse("enrollment:roster_approve", args=[roster.pk])).status_code == 403
    client.force_login(world.clerk_b)
    assert client.post(reverse("enrollment:roster_submit", args=[roster.pk])).status_code == 404
    client.force_login(world.other_office_staff)
    assert client.post(reverse("enrollment:roster_approve", args=[roster.pk])).status_code == 404
    assert (
        client.get(reverse("enrollment:roster_download", args=[roster.pk, "annotated"])).status_code
        == 404
    )
