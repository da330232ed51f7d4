"""A unit's year in a real headless Chromium, from renewal to cover in force: the clerk of a
120-person unit proposes the new headcount, downloads the renewal workbook, removes two people,
adds three and uploads it (the funding choice remembered), submits after a confirmation; the
office confirms the headcount, approves, records the unit's transfer on the roster and the
subsidy giver's money on a subsidy statement; cover shows "已缴费，…起保障" until it starts and
the counts on the home page and the dashboards agree.

Screenshots of every step are in test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

import datetime
import re
import time
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.annotate import HEADER_ROW, ROSTER_SHEET
from enrollment.models import Enrollment, Roster
from enrollment.payment_models import Receipt, SubsidyStatement
from organisation.models import HeadcountProposal, Member
from plans.services import plans_load_catalog
from tests import factories
from tests.browser.conftest import wait_for_selector
from tests.test_roster_journey import person_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "jilin-allowance-2020"
GIVER = "吉林省直机关工会"
PEOPLE = 120


def _last_years_unit(world, this_year: datetime.date):
    """Unit A with 120 people enrolled for this year in the Jilin plan, paid with 70% from the
    unit and 30% from members, and a headcount of 120 (the plan wants everyone)."""
    version = factories.catalog_version(CODE)
    for i in range(PEOPLE):
        birth = datetime.date(1975 + i % 25, 1 + i % 12, 1 + i % 28)
        female = bool(i % 2)
        member = factories.MemberFactory(
            union=world.unit_a,
            name=f"续{chr(0x4E00 + i)}{chr(0x4E80 + i)}",
            phone=f"1390431{i:04d}",
            gender=Member.Gender.FEMALE if female else Member.Gender.MALE,
            birth_date=birth,
        )
        member.id_number = factories.make_id_number(birth, "F" if female else "M")
        member.save()
        factories.enroll(member, version, coverage_start=this_year)
    factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        created_by=world.clerk_a,
        coverage_start=this_year,
        status=Roster.Status.PAID,
        payment_amount=1,
        funding={
            "mode": None,
            "percent": {"unit": "70.00", "union": "0.00", "member": "30.00"},
            "amounts": {},
        },
    )
    world.unit_a.headcount = PEOPLE
    world.unit_a.save()


def _plain(header) -> str:
    """A template header without its decorations (``*姓名``, ``身份证号（必填）``)."""
    return re.sub(r"[\s*＊]|（.*?）|\(.*?\)", "", str(header))


def _renewed(path, out) -> list[str]:
    """The renewal workbook with its first two people removed and three new people added; returns
    the names of the removed."""
    book = openpyxl.load_workbook(path)
    sheet = book[ROSTER_SHEET]
    headers = [cell.value for cell in sheet[HEADER_ROW]]
    first = HEADER_ROW + 1
    removed = [sheet.cell(row=first + i, column=headers.index("姓名") + 1).value for i in (0, 1)]
    sheet.delete_rows(first, 2)
    values = {"用工类型": "正式职工", "是否参加医保": "是"}
    for n in range(3):
        person = {
            **values,
            "姓名": f"新{'甲乙丙'[n]}",
            "身份证号": person_id(700 + n),
            "手机号": f"1380431{700 + n:04d}",
        }
        row = [person.get(_plain(h)) if h else None for h in headers]
        sheet.append(row)
        for column, header in enumerate(headers, start=1):
            if header and "身份证" in str(header):
                sheet.cell(row=sheet.max_row, column=column).number_format = "@"
    book.save(out)
    return removed


def _plain_money(text: str) -> str:
    """Amounts without thousands separators, however a page groups them."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_a_unit_renews_pays_in_two_parts_and_the_counts_agree(
    portal, world, worker, shots, tmp_path
):
    plans_load_catalog()
    today = timezone.localdate()
    this_year = datetime.date(today.year, 1, 1)
    next_year = datetime.date(today.year + 1, 1, 1)
    _last_years_unit(world, this_year)
    base = portal.base_url
    unit_page = reverse("enrollment:union_detail", args=[world.unit_a.pk])

    # The clerk proposes the new headcount (two leave, three join).
    clerk = portal.login(world.clerk_a, shots=shots)
    clerk.goto(base + unit_page)
    shots(clerk, "unit-page")
    clerk.click(f"a[href='{reverse('enrollment:headcount_propose', args=[world.unit_a.pk])}']")
    clerk.wait_for_load_state()
    clerk.fill("#id_headcount", str(PEOPLE + 1))
    clerk.fill("#id_note", "年底退休2人，新入职3人")
    shots(clerk, "headcount-proposed")
    clerk.click("main form button[type=submit]")
    clerk.wait_for_load_state()
    assert HeadcountProposal.objects.get().status == HeadcountProposal.Status.PENDING

    # The office sees the proposal on its home page and confirms it.
    office = portal.login(world.office_staff, shots=shots)
    office.goto(base + reverse("home"))
    shots(office, "office-home-proposal")
    office.click("#headcount-proposals a")
    office.wait_for_load_state()
    shots(office, "headcount-review")
    office.click("button[name=confirm]")
    office.wait_for_load_state()
    world.unit_a.refresh_from_db()
    assert world.unit_a.headcount == PEOPLE + 1

    # The renewal workbook: everyone of this year's period, every column of the template.
    clerk.goto(base + unit_page)
    with clerk.expect_download() as download:
        clerk.click(f"form[action$='/renewal/{CODE}/'] button")
    renewal = tmp_path / "renewal.xlsx"
    download.value.save_as(renewal)
    sheet = openpyxl.load_workbook(renewal)[ROSTER_SHEET]
    names = [row[0] for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if row[0]]
    assert len(names) == PEOPLE
    upload = tmp_path / "续交名单.xlsx"
    removed = _renewed(renewal, upload)

    # The upload form fills in last year's funding split once the plan is chosen.
    clerk.goto(base + reverse("enrollment:roster_upload"))
    clerk.select_option("#id_plan", CODE)
    clerk.wait_for_selector("#funding-remembered", timeout=15000)
    assert clerk.input_value("#id_unit_percent") == "70"
    assert clerk.input_value("#id_member_percent") == "30"
    clerk.fill("#id_coverage_start", next_year.isoformat())
    clerk.set_input_files("#id_file", str(upload))
    shots(clerk, "renewal-chosen")
    clerk.locator("main form[enctype='multipart/form-data'] button[type=submit]").click()
    clerk.wait_for_load_state()
    roster = Roster.objects.get(union=world.unit_a, coverage_start=next_year)
    assert roster.funding["percent"]["unit"] in ("70", "70.00")
    wait_for_selector(clerk, "form[action$='/submit/'] button", worker=worker)
    shots(clerk, "renewal-checked")
    roster.refresh_from_db()
    assert (roster.rows_valid, roster.error_count) == (PEOPLE + 1, 0)

    # Submitting asks once, with the people and the fee: 121 × 110.00.
    clerk.click("form[action$='/submit/'] button")
    clerk.wait_for_load_state()
    assert "¥13310.00" in _plain_money(clerk.inner_text("#confirm-fee"))
    shots(clerk, "renewal-submit-confirm")
    clerk.click("#confirm-button")
    clerk.wait_for_load_state()
    deadline = time.monotonic() + 90
    while roster.status != Roster.Status.SUBMITTED and time.monotonic() < deadline:
        time.sleep(0.3)
        roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    enrolled = set(Enrollment.objects.filter(roster=roster).values_list("member__name", flat=True))
    assert len(enrolled) == PEOPLE + 1 and not enrolled & set(removed)
    assert {"新甲", "新乙", "新丙"} <= enrolled

    # The office approves after a confirmation; the fee notice splits who pays what.
    detail = reverse("enrollment:roster_detail", args=[roster.pk])
    office.goto(base + detail)
    office.click("form[action$='/approve/'] button")
    office.wait_for_load_state()
    shots(office, "renewal-approve-confirm")
    office.click("#confirm-button")
    office.wait_for_load_state()
    wait_for_selector(office, "a[href$='/download/fee-notice/']", worker=worker)
    shots(office, "renewal-approved")
    # The unit owes 121 × 80.00 (its share and the members' it collects); the giver 121 × 30.00.
    office.goto(base + detail)
    split = _plain_money(office.inner_text("main"))
    assert "9680.00" in split and "3630.00" in split, split
    shots(office, "payment-by-payer")

    # The unit's transfer, recorded on the roster after a confirmation.
    office.select_option("#id_payer", "unit")
    office.fill("#id_amount", "9680.00")
    office.fill("#id_received_on", today.isoformat())
    office.fill("#id_reference", "JL-UNIT-0001")
    office.click("form[action$='/payment/'] button")
    office.wait_for_load_state()
    shots(office, "unit-receipt-confirm")
    office.click("form[action$='/payment/'] input[name='confirmed'] ~ div button")
    office.wait_for_load_state()
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED  # the subsidy is still outstanding
    assert "3630.00" in _plain_money(office.inner_text("main"))
    shots(office, "unit-received")

    # The giver's money comes for the whole period on a subsidy statement.
    office.goto(base + reverse("enrollment:statement_list"))
    office.select_option("#id_giver", GIVER)
    office.fill("#id_period_start", next_year.isoformat())
    office.fill("#id_period_end", next_year.isoformat())
    shots(office, "statement-new")
    office.click(f"form[action='{reverse('enrollment:statement_create')}'] button")
    office.wait_for_load_state()
    statement = SubsidyStatement.objects.get()
    assert statement.total == Decimal("3630.00")
    assert world.unit_a.name in office.inner_text("main")
    shots(office, "statement")
    office.fill("#id_amount", "3630.00")
    office.fill("#id_received_on", today.isoformat())
    office.fill("#id_reference", "JL-GIVER-0001")
    office.click("form[action$='/receipt/'] button")
    office.wait_for_load_state()
    shots(office, "statement-receipt-confirm")
    office.click("form[action$='/receipt/'] input[name='confirmed'] ~ div button")
    office.wait_for_load_state()
    shots(office, "statement-received")
    assert Receipt.objects.count() == 2

    # Paid: cover waits for its first day and says so.
    deadline = time.monotonic() + 90
    while roster.status != Roster.Status.PAID and time.monotonic() < deadline:
        time.sleep(0.3)
        roster.refresh_from_db()
    assert roster.status == Roster.Status.PAID
    clerk.goto(base + detail)
    badge = clerk.locator("main .badge").first.inner_text()
    assert badge == f"已缴费，{next_year:%Y-%m-%d} 起保障", badge
    shots(clerk, "paid-cover-waits")

    # Today 120 people are covered (this year's cover), on the home page and the dashboards.
    counts = {}
    for name, page in (("clerk", clerk), ("office", office)):
        page.goto(base + reverse("home"))
        counts[f"{name}-home"] = _number(page.inner_text(".in-force-people"))
        shots(page, f"{name}-home")
    office.goto(base + reverse("oversight:dashboards"))
    counts["office-dashboards"] = _number(office.inner_text("#dashboard-in-force .in-force-people"))
    shots(office, "dashboards")
    assert set(counts.values()) == {PEOPLE}, counts
