"""Due dates in Chinese working days: the calendar package for the years it knows, admin entries
for the others (and as overrides), weekends only (and saying so) until a year is complete."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.urls import path, reverse
from django.utils import translation

from claims.admin_calendar import (
    HolidayYearAdmin,
    HolidayYearForm,
    OfficialDayAdmin,
    OfficialDayForm,
    format_days,
)
from claims.models import HolidayYear, OfficialDay
from claims.workdays import (
    OFFICIAL,
    WEEKENDS_ONLY,
    DueDate,
    WorkdayCalendar,
    calendar_for_years,
    due_date,
    overdue,
    package_covers,
)
from tests import factories

D = datetime.date

# The admin classes on a site of their own, so the tests do not depend on claims/admin.py.
site = AdminSite(name="calendar_test")
site.register(OfficialDay, OfficialDayAdmin)
site.register(HolidayYear, HolidayYearAdmin)
urlpatterns = [path("calendar-admin/", site.urls)]


def last_package_year() -> int:
    """The last year the installed chinesecalendar knows (2026 for 1.11.0), found by asking."""
    year = 2024
    while package_covers(year + 1):
        year += 1
    return year


LAST = last_package_year()
UNCOVERED = LAST + 1


def first_weekday(year: int, month: int, weekday: int) -> datetime.date:
    day = D(year, month, 1)
    return day + datetime.timedelta(days=(weekday - day.weekday()) % 7)


# The package -------------------------------------------------------------------------------


def test_package_coverage_is_detected_not_assumed():
    assert package_covers(2024) and package_covers(2025)
    assert not package_covers(UNCOVERED)
    assert not package_covers(1990)
    assert WorkdayCalendar().covered(2024)
    assert not WorkdayCalendar().covered(UNCOVERED)
    assert not WorkdayCalendar(package=False).covered(2024)


def test_national_day_2024_counts_make_up_days_and_skips_the_holiday():
    # 2024 schedule: 1–7 Oct off; Sun 29 Sep and Sat 12 Oct worked in lieu. From Fri 27 Sep:
    # 29 Sep (1), 30 Sep (2), 8–11 Oct (3–6), Sat 12 Oct (7), 14–16 Oct (8–10).
    cal = WorkdayCalendar()
    assert cal.add_workdays(D(2024, 9, 27), 10) == DueDate(D(2024, 10, 16), OFFICIAL, ())
    assert cal.add_workdays(D(2024, 9, 27), 1).date == D(2024, 9, 29)  # the make-up Sunday
    assert cal.add_workdays(D(2024, 9, 30), 1).date == D(2024, 10, 8)
    assert cal.add_workdays(D(2024, 10, 11), 1).date == D(2024, 10, 12)  # the make-up Saturday
    assert not cal.is_workday(D(2024, 9, 28))  # a plain Saturday
    assert not cal.is_workday(D(2024, 10, 7))  # a Monday inside the holiday


def test_spring_festival_2025():
    # 2025: 28 Jan – 4 Feb off; Sun 26 Jan and Sat 8 Feb worked. From Fri 24 Jan: 26 Jan (1),
    # 27 Jan (2), 5–7 Feb (3–5), Sat 8 Feb (6), 10–13 Feb (7–10).
    due = WorkdayCalendar().add_workdays(D(2025, 1, 24), 10)
    assert due == DueDate(D(2025, 2, 13), OFFICIAL, ())
    assert not due.weekends_only and due.notice == ""


def test_start_never_counts_and_friday_evening_is_due_next_working_day():
    cal = WorkdayCalendar()
    friday_evening = datetime.datetime(
        2025, 3, 7, 21, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")
    )
    assert cal.add_workdays(friday_evening, 1).date == D(2025, 3, 10)  # Monday
    # 23:30 on Friday in UTC is already Saturday morning in China: the local date counts.
    saturday_morning = datetime.datetime(2025, 3, 7, 23, 30, tzinfo=datetime.UTC)
    assert cal.add_workdays(saturday_morning, 1).date == D(2025, 3, 10)
    assert cal.add_workdays(D(2025, 3, 10), 1).date == D(2025, 3, 11)
    with pytest.raises(ValueError):
        cal.add_workdays(D(2025, 3, 10), 0)


# Years beyond the package --------------------------------------------------------------------


def test_uncovered_year_counts_weekends_only_and_says_so():
    start = first_weekday(UNCOVERED, 3, 4)  # a Friday in March
    due = WorkdayCalendar().add_workdays(start, 10)
    assert due.date == start + datetime.timedelta(days=14)
    assert due.basis == WEEKENDS_ONLY and due.uncovered_years == (UNCOVERED,)
    assert due.weekends_only
    with translation.override("en"):
        assert str(UNCOVERED) in due.notice and "weekends only" in due.notice


def test_crossing_into_an_uncovered_year_names_only_that_year():
    cal = WorkdayCalendar()
    due = cal.add_workdays(D(LAST, 12, 24), 10)
    assert due.date.year == UNCOVERED
    assert due.basis == WEEKENDS_ONLY and due.uncovered_years == (UNCOVERED,)
    # Counting starts the day after: from 31 December only the new year is crossed.
    assert cal.add_workdays(D(LAST, 12, 31), 1).uncovered_years == (UNCOVERED,)
    # Still inside the package year: official.
    assert cal.add_workdays(D(LAST, 6, 1), 3).basis == OFFICIAL


def test_entries_apply_before_the_year_is_complete_and_make_it_official_after():
    monday = first_weekday(UNCOVERED, 5, 0)
    start = monday - datetime.timedelta(days=3)  # the Friday before
    holidays = {monday + datetime.timedelta(days=i): False for i in range(3)}  # Mon–Wed off
    makeup = {monday + datetime.timedelta(days=5): True}  # that Saturday worked

    partial = WorkdayCalendar({**holidays, **makeup})
    due = partial.add_workdays(start, 3)
    # Thu (1), Fri (2), Sat make-up (3)
    assert due.date == monday + datetime.timedelta(days=5)
    assert due.basis == WEEKENDS_ONLY and due.uncovered_years == (UNCOVERED,)

    complete = WorkdayCalendar({**holidays, **makeup}, complete_years=[UNCOVERED])
    assert complete.add_workdays(start, 3) == DueDate(due.date, OFFICIAL, ())


def test_admin_entries_override_the_package():
    # An office learns that 8 October 2024 was a local holiday.
    cal = WorkdayCalendar({D(2024, 10, 8): False})
    assert cal.add_workdays(D(2024, 9, 27), 10) == DueDate(D(2024, 10, 17), OFFICIAL, ())
    # And one entered as a make-up day where the package says holiday.
    assert WorkdayCalendar({D(2024, 10, 7): True}).is_workday(D(2024, 10, 7))


# From the database -----------------------------------------------------------------------------


def test_calendar_for_years_is_one_query_then_pure(db, django_assert_num_queries):
    monday = first_weekday(UNCOVERED, 5, 0)
    OfficialDay.objects.create(date=monday, name="劳动节")
    OfficialDay.objects.create(date=monday + datetime.timedelta(days=5), is_workday=True)
    OfficialDay.objects.create(date=D(UNCOVERED + 5, 1, 1), name="not loaded")
    HolidayYear.objects.create(year=UNCOVERED, complete=True)
    HolidayYear.objects.create(year=UNCOVERED + 5, complete=True)

    with django_assert_num_queries(1):
        cal = calendar_for_years([2024, UNCOVERED, 2024])
    with django_assert_num_queries(0):
        dues = [cal.add_workdays(D(2024, 9, 27), 10) for _ in range(50)]
        assert dues[0] == DueDate(D(2024, 10, 16), OFFICIAL, ())
        assert not cal.is_workday(monday)
        assert cal.is_workday(monday + datetime.timedelta(days=5))
        assert cal.covered(UNCOVERED) and not cal.covered(UNCOVERED + 5)
        # The year after each one asked for is loaded too (December claims end in January).
        cal.is_workday(D(UNCOVERED + 1, 1, 4))
    with pytest.raises(LookupError):
        cal.is_workday(D(UNCOVERED + 5, 1, 1))


def test_calendar_for_no_years(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        cal = calendar_for_years([])
    with pytest.raises(LookupError):
        cal.is_workday(D(2025, 1, 1))


def test_due_date_after_an_admin_completes_the_year(db, django_assert_num_queries):
    start = first_weekday(UNCOVERED, 9, 4)  # a Friday in September
    plain = start + datetime.timedelta(days=14)
    with django_assert_num_queries(1):
        before = due_date(start)
    assert before == DueDate(plain, WEEKENDS_ONLY, (UNCOVERED,))

    # The admin enters a week off (Mon–Fri after the start) and a make-up Sunday before it.
    week = [start + datetime.timedelta(days=3 + i) for i in range(5)]
    for day in week:
        OfficialDay.objects.create(date=day, name="国庆节")
    OfficialDay.objects.create(date=start + datetime.timedelta(days=2), is_workday=True)
    partial = due_date(start)
    # Sunday (1), the holiday week skipped, Mon–Fri (2–6), Mon–Thu (7–10).
    assert partial.date == start + datetime.timedelta(days=20)
    assert partial.basis == WEEKENDS_ONLY

    HolidayYear.objects.create(year=UNCOVERED, complete=True)
    assert due_date(start) == DueDate(partial.date, OFFICIAL, ())


def test_overdue_boundaries():
    due = D(2024, 10, 16)
    assert not overdue(due, D(2024, 10, 15), paid=False)
    assert not overdue(due, due, paid=False)  # paying on the due date is on time
    assert overdue(due, D(2024, 10, 17), paid=False)
    assert not overdue(due, D(2024, 10, 17), paid=True)
    assert not overdue(None, D(2024, 10, 17), paid=False)  # documents not complete yet


# Admin ---------------------------------------------------------------------------------------


def test_make_up_day_on_a_weekday_is_refused_with_a_clear_message(db):
    with translation.override("en"):
        form = OfficialDayForm(data={"date": "2027-10-08", "is_workday": "on", "name": "调休"})
        assert not form.is_valid()
        (message,) = form.errors["is_workday"]
        assert "2027-10-08 is a Friday" in message
        assert "must fall on a Saturday or Sunday" in message
    # A make-up Saturday and a holiday on a weekend (1 October 2028 is a Sunday) are fine.
    assert OfficialDayForm(data={"date": "2027-10-09", "is_workday": "on"}).is_valid()
    assert OfficialDayForm(data={"date": "2028-10-01", "name": "国庆节"}).is_valid()


def year_data(year, holidays="", makeup="", complete=False):
    data = {"year": str(year), "holidays": holidays, "makeup_days": makeup}
    if complete:
        data["complete"] = "on"
    return data


def test_year_form_parses_ranges_and_refuses_bad_lines(db):
    form = HolidayYearForm(
        data=year_data(
            2030,
            "# from the notice\n2030-10-01..2030-10-07 国庆节\n2030-01-01 元旦\n\n",
            "2030-09-29 国庆节调休\n2030/10/12 国庆节调休",
            complete=True,
        )
    )
    assert form.is_valid(), form.errors
    assert len(form.entered_days) == 10
    assert form.entered_days[D(2030, 10, 5)] == (False, "国庆节")  # a Saturday inside the range
    assert form.entered_days[D(2030, 10, 12)] == (True, "国庆节调休")

    with translation.override("en"):
        bad = HolidayYearForm(
            data=year_data(
                2030,
                "2030-10-07..2030-10-01\nOctober first\n2031-01-01 元旦",
                "2030-10-08 not a weekend",
            )
        )
        assert not bad.is_valid()
        holidays = " ".join(bad.errors["holidays"])
        assert "Line 1: the range ends before it starts" in holidays
        assert "Line 2" in holidays and "Line 3: 2031-01-01 is not in 2030" in holidays
        assert "Line 1: 2030-10-08 is a Tuesday" in bad.errors["makeup_days"][0]

        both = HolidayYearForm(data=year_data(2030, "2030-10-05", "2030-10-05"))
        assert not both.is_valid() and "both" in both.errors["makeup_days"][0]

        empty = HolidayYearForm(data=year_data(UNCOVERED + 3, complete=True))
        assert not empty.is_valid() and "complete" in empty.errors


def test_year_form_drops_weekend_days_of_a_range_in_the_previous_year(db):
    # New Year 2029 as a notice might print it: Sat 30 Dec 2028 – Mon 1 Jan 2029.
    form = HolidayYearForm(data=year_data(2029, "2028-12-30..2029-01-01 元旦"))
    assert form.is_valid(), form.errors
    assert set(form.entered_days) == {D(2029, 1, 1)}
    # Friday 29 December is a weekday of 2028: it belongs to that year's entries.
    assert not HolidayYearForm(data=year_data(2029, "2028-12-29..2029-01-01 元旦")).is_valid()


def test_format_days_round_trips_ranges():
    rows = [(D(2030, 10, d), "国庆节") for d in range(1, 8)] + [(D(2030, 1, 1), "元旦")]
    assert format_days(rows) == "2030-01-01 元旦\n2030-10-01..2030-10-07 国庆节"


@pytest.mark.urls(__name__)
def test_admin_enters_a_year_and_its_due_dates_become_official(admin_client):
    year = UNCOVERED
    start = first_weekday(year, 9, 4)
    week = [start + datetime.timedelta(days=3 + i) for i in range(5)]
    response = admin_client.post(
        reverse("calendar_test:claims_holidayyear_add"),
        year_data(
            year,
            f"{week[0]}..{week[-1]} 国庆节",
            f"{start + datetime.timedelta(days=2)} 国庆节调休",
            complete=True,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert OfficialDay.objects.filter(date__year=year).count() == 6
    due = due_date(start)
    assert due.basis == OFFICIAL and due.date == start + datetime.timedelta(days=20)

    # The change page shows the entries as ranges; saving a shorter list replaces them.
    holiday_year = HolidayYear.objects.get(year=year)
    change = reverse("calendar_test:claims_holidayyear_change", args=[holiday_year.pk])
    page = admin_client.get(change).content.decode()
    assert f"{week[0]}..{week[-1]} 国庆节" in page
    response = admin_client.post(
        change, {"holidays": f"{week[0]} 国庆节", "makeup_days": "", "complete": "on"}
    )
    assert response.status_code == 302
    assert list(OfficialDay.objects.filter(date__year=year).values_list("date", flat=True)) == [
        week[0]
    ]

    listing = admin_client.get(reverse("calendar_test:claims_holidayyear_changelist"))
    assert listing.status_code == 200
    days = admin_client.get(
        reverse("calendar_test:claims_officialday_changelist"), {"year": year, "q": "国庆"}
    )
    assert days.status_code == 200 and str(week[0]) in days.content.decode()


@pytest.mark.urls(__name__)
def test_admin_refuses_a_weekday_make_up_day(admin_client):
    # The portal follows the language cookie, not the browser's header.
    admin_client.cookies["django_language"] = "en"
    with translation.override("en"):
        response = admin_client.post(
            reverse("calendar_test:claims_officialday_add"),
            {"date": f"{first_weekday(UNCOVERED, 3, 2)}", "is_workday": "on", "name": "x"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    assert not OfficialDay.objects.exists()
    assert "must fall on a Saturday or Sunday" in response.content.decode()


@pytest.mark.urls(__name__)
def test_mark_complete_action_needs_a_weekday_holiday(admin_client):
    ready = HolidayYear.objects.create(year=UNCOVERED)
    empty = HolidayYear.objects.create(year=UNCOVERED + 1)
    OfficialDay.objects.create(date=first_weekday(UNCOVERED, 5, 0), name="劳动节")
    admin_client.post(
        reverse("calendar_test:claims_holidayyear_changelist"),
        {"action": "mark_complete", "_selected_action": [ready.pk, empty.pk]},
    )
    ready.refresh_from_db(), empty.refresh_from_db()
    assert ready.complete and not empty.complete
    admin_client.post(
        reverse("calendar_test:claims_holidayyear_changelist"),
        {"action": "mark_incomplete", "_selected_action": [ready.pk]},
    )
    ready.refresh_from_db()
    assert not ready.complete


@pytest.mark.urls(__name__)
def test_staff_without_official_day_rights_cannot_wipe_entries(client, db):
    year = HolidayYear.objects.create(year=UNCOVERED)
    OfficialDay.objects.create(date=first_weekday(UNCOVERED, 5, 0), name="劳动节")
    staff = factories.UserFactory(is_staff=True, role="", union=None)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_holidayyear", "change_holidayyear"])
    )
    client.force_login(staff)
    change = reverse("calendar_test:claims_holidayyear_change", args=[year.pk])
    assert "makeup_days" not in client.get(change).content.decode()
    assert client.post(change, {"complete": "on"}).status_code == 302
    year.refresh_from_db()
    assert year.complete and OfficialDay.objects.count() == 1
