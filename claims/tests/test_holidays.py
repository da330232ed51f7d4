"""Due dates across the year end: the fixed-date public holidays are never due dates, stored due
dates are counted again when a year's holidays change (through the Django admin, audited, in the
claim's history, idempotent), and plan admins and office staff are reminded from 1 November to
enter next year's holidays."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from claims import holidays
from claims.holidays import notice_for, recompute_due_dates
from claims.models import Claim, ClaimEvent, HolidayYear, OfficialDay
from claims.workdays import (
    OFFICIAL,
    WEEKENDS_ONLY,
    DueDate,
    WorkdayCalendar,
    due_date,
    package_covers,
    statutory_holiday,
)
from mutualaid.auditlog.audit import describe
from mutualaid.auditlog.models import AuditEntry
from organisation.models import User
from tests import factories

D = datetime.date
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")


def last_package_year() -> int:
    year = 2024
    while package_covers(year + 1):
        year += 1
    return year


LAST = last_package_year()
UNCOVERED = LAST + 1
only_while_2027_is_unknown = pytest.mark.skipif(
    LAST != 2026, reason="the reported case needs a calendar package that stops at 2026"
)


# The reported case -------------------------------------------------------------------------------


@only_while_2027_is_unknown
@pytest.mark.parametrize("day", [18, 19, 20])
def test_claims_completed_18_to_20_december_2026_are_not_due_on_new_years_day(db, day):
    # Fri 18 Dec: 21–25 Dec (5), 28–31 Dec (9), Fri 1 Jan 2027 is New Year's Day by law, Mon
    # 4 Jan (10). Still "weekends only" (2027's notice is not entered), and it says so.
    due = due_date(D(2026, 12, day))
    assert due == DueDate(D(2027, 1, 4), WEEKENDS_ONLY, (2027,))
    with translation.override("en"):
        assert "2027" in due.notice


def test_fixed_date_public_holidays_are_never_working_days_in_an_unknown_year():
    cal = WorkdayCalendar()
    for month, day in ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)):
        assert statutory_holiday(D(UNCOVERED, month, day))
        assert not cal.is_workday(D(UNCOVERED, month, day))
    assert not statutory_holiday(D(UNCOVERED, 10, 4))
    # Before the 2024 revision 2 May was not a public holiday by law.
    assert not statutory_holiday(D(1999, 5, 2))
    # An admin's entry still wins (a correction is the admin's call).
    assert WorkdayCalendar({D(UNCOVERED, 1, 1): True}).is_workday(D(UNCOVERED, 1, 1))
    # A complete year still gets them even if the admin forgot one.
    assert not WorkdayCalendar(complete_years=[UNCOVERED]).is_workday(D(UNCOVERED, 10, 2))


def test_a_due_date_never_lands_on_a_known_non_working_day():
    cal = WorkdayCalendar()
    start = D(LAST, 11, 1)
    for offset in range(600):
        due = cal.add_workdays(start + datetime.timedelta(days=offset), 10)
        assert cal.is_workday(due.date), due
        assert not statutory_holiday(due.date), due
        if not cal.covered(due.date.year):
            assert due.date.weekday() < 5 and due.basis == WEEKENDS_ONLY


# Counting stored due dates again -----------------------------------------------------------------


def completed(year: int, month: int, day: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, 15, 0, tzinfo=CHINA)


@pytest.fixture
def cover(world):
    return factories.enroll(world.member_a)


def claim(cover, when: datetime.datetime, due: datetime.date, status=Claim.Status.REVIEWING):
    return factories.ClaimFactory(
        enrollment=cover,
        status=status,
        completed_at=when,
        due_date=due,
        due_basis=WEEKENDS_ONLY,
    )


def test_recompute_counts_open_claims_through_the_year_once(world, cover):
    year = UNCOVERED
    # Stored the way the bug stored it: due on New Year's Day.
    late_december = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1))
    early_january = claim(cover, completed(year, 1, 5), D(year, 1, 19))
    rejected = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1), Claim.Status.REJECTED)
    withdrawn = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1), Claim.Status.WITHDRAWN)
    # Counting ended before the year began: never looked at.
    earlier = claim(cover, completed(year - 1, 6, 1), D(year - 1, 6, 15))
    # Completed on 31 December: counting starts in the next year, after the one changed.
    next_year = claim(cover, completed(year, 12, 31), D(year + 1, 1, 14))

    OfficialDay.objects.create(date=D(year, 1, 6), name="假日")  # a weekday off in January
    result = recompute_due_dates([year], actor=world.office_staff)
    assert (result.examined, result.changed) == (2, 2)

    for c in (late_december, early_january, rejected, withdrawn, earlier, next_year):
        c.refresh_from_db()
    first = WorkdayCalendar({D(year, 1, 6): False}).add_workdays(D(year - 1, 12, 18), 10)
    assert (late_december.due_date, late_december.due_basis) == (first.date, first.basis)
    assert first.date != D(year, 1, 1) and first.basis == WEEKENDS_ONLY
    assert early_january.due_date == D(year, 1, 20)  # one day later for 6 January
    # Closed claims keep the date they were judged against; the others were not touched.
    assert rejected.due_date == withdrawn.due_date == D(year, 1, 1)
    assert earlier.due_date == D(year - 1, 6, 15) and next_year.due_date == D(year + 1, 1, 14)

    # The claim's history says what changed and who did it.
    (event,) = ClaimEvent.objects.filter(claim=late_december)
    assert event.actor == world.office_staff
    assert event.from_status == event.to_status == Claim.Status.REVIEWING
    assert f"{D(year, 1, 1)} → {first.date}" in event.note and str(year) in event.note

    # One audit entry for the run, naming the year and how many claims changed.
    (entry,) = AuditEntry.objects.filter(note=holidays.AUDIT_NOTE)
    assert entry.count == 2 and entry.params["years"] == str(year)
    assert entry.actor == world.office_staff
    with translation.override("en"):
        text = describe(entry)
    assert str(year) in text and "2 claims changed" in text

    # Idempotent: nothing changes the second time, no new history.
    again = recompute_due_dates([year], actor=world.office_staff)
    assert (again.examined, again.changed) == (2, 0)
    assert ClaimEvent.objects.count() == 2


def test_completing_the_year_makes_stored_due_dates_official(world, cover):
    year = UNCOVERED
    c = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1))
    recompute_due_dates([year])
    c.refresh_from_db()
    assert c.due_basis == WEEKENDS_ONLY
    OfficialDay.objects.create(date=D(year, 1, 1), name="元旦")
    HolidayYear.objects.create(year=year, complete=True)
    recompute_due_dates([year])
    c.refresh_from_db()
    expected = WorkdayCalendar({D(year, 1, 1): False}, [year]).add_workdays(D(year - 1, 12, 18), 10)
    assert (c.due_date, c.due_basis) == (expected.date, OFFICIAL)


# Through the Django admin ------------------------------------------------------------------------


def test_entering_and_deleting_a_year_in_the_admin_recomputes(admin_client, world, cover):
    year = UNCOVERED
    c = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1))
    # Enter the year: New Year's Day plus (for the test) Monday 4th… whichever first weekday
    # after 1 January, so the date really moves.
    extra = next(D(year, 1, d) for d in range(4, 9) if D(year, 1, d).weekday() < 5)
    response = admin_client.post(
        reverse("admin:claims_holidayyear_add"),
        {
            "year": str(year),
            "holidays": f"{year}-01-01 元旦\n{extra} 假日",
            "makeup_days": "",
            "complete": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    c.refresh_from_db()
    official = WorkdayCalendar({D(year, 1, 1): False, extra: False}, [year]).add_workdays(
        D(year - 1, 12, 18), 10
    )
    assert (c.due_date, c.due_basis) == (official.date, OFFICIAL)
    assert AuditEntry.objects.filter(note=holidays.AUDIT_NOTE, count=1).count() == 1
    assert ClaimEvent.objects.filter(claim=c).count() == 1

    # Deleting the extra day (the official-day admin) moves it back, in the claim's history.
    day = OfficialDay.objects.get(date=extra)
    response = admin_client.post(
        reverse("admin:claims_officialday_delete", args=[day.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    c.refresh_from_db()
    back = WorkdayCalendar({D(year, 1, 1): False}, [year]).add_workdays(D(year - 1, 12, 18), 10)
    assert (c.due_date, c.due_basis) == (back.date, OFFICIAL)
    assert ClaimEvent.objects.filter(claim=c).count() == 2
    assert AuditEntry.objects.filter(note=holidays.AUDIT_NOTE).count() == 2

    # Marking the year not complete (an admin action) makes it weekends only again.
    admin_client.post(
        reverse("admin:claims_holidayyear_changelist"),
        {
            "action": "mark_incomplete",
            "_selected_action": [HolidayYear.objects.get(year=year).pk],
        },
    )
    c.refresh_from_db()
    assert c.due_basis == WEEKENDS_ONLY
    assert AuditEntry.objects.filter(note=holidays.AUDIT_NOTE).count() == 3


def test_single_days_added_changed_and_deleted_in_the_admin_recompute(admin_client, world, cover):
    year = UNCOVERED
    monday = D(year, 3, 1) + datetime.timedelta(days=(0 - D(year, 3, 1).weekday()) % 7)
    c = factories.ClaimFactory(
        enrollment=cover,
        status=Claim.Status.APPROVED,
        approved_amount=100,
        completed_at=completed(monday.year, monday.month, monday.day),
        due_date=monday + datetime.timedelta(days=14),
        due_basis=WEEKENDS_ONLY,
    )
    wednesday = monday + datetime.timedelta(days=2)
    response = admin_client.post(
        reverse("admin:claims_officialday_add"), {"date": str(wednesday), "name": "假日"}
    )
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.due_date == monday + datetime.timedelta(days=15)  # Tuesday, one day later

    # Renaming the entry moves nothing and counts nothing again.
    day = OfficialDay.objects.get(date=wednesday)
    change = reverse("admin:claims_officialday_change", args=[day.pk])
    admin_client.post(change, {"date": str(wednesday), "name": "改名"})
    assert AuditEntry.objects.filter(note=holidays.AUDIT_NOTE).count() == 1

    # Moving it to the next year counts both years again: the claim is back to Monday.
    admin_client.post(change, {"date": f"{year + 1}-03-03", "name": "假日"})
    c.refresh_from_db()
    assert c.due_date == monday + datetime.timedelta(days=14)
    (entry,) = AuditEntry.objects.filter(note=holidays.AUDIT_NOTE).order_by("-pk")[:1]
    assert entry.params["years"] == f"{year}、{year + 1}"

    # Deleting entries from the list (the bulk action) counts again too.
    OfficialDay.objects.filter(pk=day.pk).update(date=wednesday)
    recompute_due_dates([year])
    c.refresh_from_db()
    assert c.due_date == monday + datetime.timedelta(days=15)
    admin_client.post(
        reverse("admin:claims_officialday_changelist"),
        {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"},
    )
    assert not OfficialDay.objects.exists()
    c.refresh_from_db()
    assert c.due_date == monday + datetime.timedelta(days=14)


def test_management_command_recomputes_and_is_idempotent(world, cover, capsys):
    year = UNCOVERED
    c = claim(cover, completed(year - 1, 12, 18), D(year, 1, 1))
    call_command("recompute_due_dates")
    c.refresh_from_db()
    assert c.due_date != D(year, 1, 1)
    assert "1 of 1 open claims changed" in capsys.readouterr().out
    call_command("recompute_due_dates", "--year", str(year))
    assert "0 of 1 open claims changed" in capsys.readouterr().out
    entries = AuditEntry.objects.filter(note=holidays.AUDIT_NOTE).order_by("pk")
    assert [e.count for e in entries] == [1, 0]
    assert entries[0].source == AuditEntry.Source.COMMAND


# The reminder on the home page -------------------------------------------------------------------


@pytest.fixture
def on(monkeypatch):
    def set_today(day: datetime.date) -> None:
        monkeypatch.setattr(holidays, "today", lambda: day)

    return set_today


def home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_notice_from_1_november_for_plan_admins_and_office_staff(client, world, on):
    on(D(LAST, 10, 31))
    assert 'id="holiday-notice"' not in home(client, world.office_staff)
    on(D(LAST, 11, 1))
    page = home(client, world.office_staff)
    assert 'id="holiday-notice"' in page and str(UNCOVERED) in page
    assert 'id="holiday-notice"' in home(client, world.plan_admin)
    for user in (world.clerk_a, world.county_staff_a, world.auditor):
        assert 'id="holiday-notice"' not in home(client, user)

    # Entries alone are not enough; once the year is marked complete the notice goes.
    OfficialDay.objects.create(date=D(UNCOVERED, 1, 1), name="元旦")
    assert 'id="holiday-notice"' in home(client, world.office_staff)
    HolidayYear.objects.create(year=UNCOVERED, complete=True)
    assert 'id="holiday-notice"' not in home(client, world.office_staff)


def test_notice_links_to_the_admin_page_for_those_who_may_enter_holidays(client, world, on):
    on(D(LAST, 12, 1))
    staff = world.office_staff
    notice = notice_for(staff)
    assert notice is not None and notice.year == UNCOVERED and notice.url == ""
    # Someone who may add holiday years in the administration site gets the link.
    admin = factories.UserFactory(role="", union=None, is_staff=True, is_superuser=True)
    page = home(client, admin)
    url = reverse("admin:claims_holidayyear_add") + f"?year={UNCOVERED}"
    assert url in page
    client.force_login(admin)
    form = client.get(url).content.decode()
    assert f'value="{UNCOVERED}"' in form  # the year is filled in
    year = HolidayYear.objects.create(year=UNCOVERED)
    assert notice_for(admin).url == reverse("admin:claims_holidayyear_change", args=[year.pk])


def test_notice_for_the_current_year_if_it_is_still_missing(world):
    assert notice_for(world.office_staff, D(UNCOVERED, 3, 1)).late
    assert notice_for(world.clerk_a, D(UNCOVERED, 3, 1)) is None
    assert notice_for(world.office_staff, D(LAST, 3, 1)) is None  # covered, before November


def test_notice_costs_nothing_on_other_pages(client, world, on):
    on(D(LAST, 11, 1))
    assert world.office_staff.role == User.Role.OFFICE_STAFF
    client.force_login(world.office_staff)
    # The context holds a callable, evaluated only by the home page's include.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("claims:claim_list"))
    assert response.status_code == 200
    assert 'id="holiday-notice"' not in response.content.decode()
    assert not [q for q in queries.captured_queries if "claims_holidayyear" in q["sql"]]
    with CaptureQueriesContext(connection) as queries:
        home(client, world.office_staff)
    assert [q for q in queries.captured_queries if "claims_holidayyear" in q["sql"]]
