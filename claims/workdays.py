"""Chinese working days for claim due dates (a claim is paid within 10 working days after its
documents became complete).

Where each day's answer comes from, first match wins:

1. An ``OfficialDay`` row entered by an admin for that date. Admin entries override the
   calendar package on purpose: an office may know of a local change (or a correction published
   after the package was released), and the person who entered it is accountable for it.
2. The ``chinesecalendar`` package (``chinese_calendar.is_workday``) for the years it covers; it
   knows public holidays and make-up working days (调休). Version 1.11.0 covers 2004–2026; it
   raises ``NotImplementedError`` for any other year, which is how coverage is detected here.
3. Otherwise the plain week: Monday–Friday working, Saturday and Sunday not, except the
   public holidays the law fixes by calendar date (``STATUTORY_FIXED``: 1 January, 1–2 May,
   1–3 October, from 2025 under the revised 全国年节及纪念日放假办法), which are never working
   days whatever the State Council's yearly notice arranges around them. So a due date counted
   into a year nobody entered yet never lands on New Year's Day. The lunar holidays (Spring
   Festival, Qingming, Dragon Boat, Mid-Autumn) and the make-up days are only known from the
   notice, hence the basis stays ``"weekends_only"`` until the year is covered.

Stored due dates are recomputed when a year's entries change (``claims.holidays``).

A year is *covered* when the package covers it or an admin marked its ``HolidayYear`` complete.
A due date whose counting crossed an uncovered year has basis ``"weekends_only"``, names those
years, and the page must say so (``DueDate.notice``). Entries already made for an uncovered year
still apply: partial knowledge is better than none.

``WorkdayCalendar`` is pure once built; ``calendar_for_years`` builds it from the database in one
query, so a page of claims costs one query however many due dates it shows.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import chinese_calendar
from django.db.models import BooleanField, DateField, IntegerField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext

OFFICIAL = "official"
WEEKENDS_ONLY = "weekends_only"

ONE_DAY = datetime.timedelta(days=1)

# (month, day) of the public holidays the law fixes by date, and the first year the current list
# applies (the 2024 revision added 2 May from 2025 on).
STATUTORY_FIXED = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
STATUTORY_FROM = 2025


@functools.cache
def package_covers(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` knows the holidays of ``year``."""
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_weekend(day: datetime.date) -> bool:
    return day.weekday() >= 5


def statutory_holiday(day: datetime.date) -> bool:
    """Whether the law makes ``day`` a public holiday by its date alone (whatever the year's
    notice says about the days around it)."""
    return day.year >= STATUTORY_FROM and (day.month, day.day) in STATUTORY_FIXED


def official_day_error(day: datetime.date, is_workday: bool) -> str | None:
    """Why an ``OfficialDay`` entry makes no sense, or None.

    A make-up working day (调休上班) is by definition a Saturday or Sunday; a weekday is a working
    day already. A holiday on a weekend is allowed: the official notices list whole ranges such as
    1–7 October, whose weekend days are holidays too (the entry changes nothing but is harmless).
    """
    if is_workday and not is_weekend(day):
        return gettext(
            "%(date)s is a %(weekday)s. A make-up working day must fall on a Saturday or Sunday; "
            "weekdays are working days already. To record a holiday, leave “working day” "
            "unticked."
        ) % {"date": day.isoformat(), "weekday": weekday_name(day)}
    return None


def weekday_name(day: datetime.date) -> str:
    names = (
        gettext("Monday"),
        gettext("Tuesday"),
        gettext("Wednesday"),
        gettext("Thursday"),
        gettext("Friday"),
        gettext("Saturday"),
        gettext("Sunday"),
    )
    return names[day.weekday()]


def as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    """A date; an aware datetime (such as ``Claim.completed_at``) is taken in local time."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            return timezone.localdate(value)
        return value.date()
    return value


@dataclass(frozen=True)
class DueDate:
    date: datetime.date
    # "official" when every year crossed is covered (package or complete HolidayYear), else
    # "weekends_only".
    basis: str
    # Years that fell back to weekends only, ascending.
    uncovered_years: tuple[int, ...] = ()

    @property
    def weekends_only(self) -> bool:
        return self.basis == WEEKENDS_ONLY

    @property
    def notice(self) -> str:
        """What the page shows next to a weekends-only due date; empty for an official one."""
        if not self.uncovered_years:
            return ""
        years = "、".join(str(year) for year in self.uncovered_years)
        return gettext(
            "Counted on weekends only: the official holidays of %(years)s have not been "
            "entered yet, so this date may be too early."
        ) % {"years": years}


class WorkdayCalendar:
    """Answers is_workday(day) for a range of years; built once per request/batch (loads
    OfficialDay rows for the years involved in ONE query), then pure.

    ``official_days`` maps a date to whether it is a working day (admin entries); they override
    the package. ``complete_years`` are the years an admin marked complete. ``package=False``
    ignores the calendar package (every year is then covered only by a complete HolidayYear).
    ``years``, when given, are the years whose admin entries were loaded; asking about any other
    year raises ``LookupError`` rather than answering without the entries. ``None`` (the default)
    means ``official_days`` is the whole truth for every year.
    """

    def __init__(
        self,
        official_days: Mapping[datetime.date, bool] | None = None,
        complete_years: Iterable[int] = (),
        package: bool = True,
        *,
        years: Iterable[int] | None = None,
    ):
        self._official = dict(official_days or {})
        self._complete = frozenset(complete_years)
        self._package = package
        self._years = None if years is None else frozenset(years)
        self._days: dict[datetime.date, bool] = {}
        self._covered: dict[int, bool] = {}
        self._due: dict[tuple[datetime.date, int], DueDate] = {}

    def __repr__(self) -> str:
        years = "all" if self._years is None else sorted(self._years)
        return (
            f"<WorkdayCalendar years={years} entries={len(self._official)} "
            f"complete={sorted(self._complete)} package={self._package}>"
        )

    def _check_loaded(self, year: int) -> None:
        if self._years is not None and year not in self._years:
            raise LookupError(
                f"This calendar holds the admin entries of {sorted(self._years)} only, not of "
                f"{year}; build it with calendar_for_years() including {year}."
            )

    def _package_covers(self, year: int) -> bool:
        return self._package and package_covers(year)

    def covered(self, year: int) -> bool:
        """Whether every holiday of ``year`` is known (package or a complete HolidayYear)."""
        known = self._covered.get(year)
        if known is None:
            known = self._covered[year] = year in self._complete or self._package_covers(year)
        return known

    def is_workday(self, day: datetime.date) -> bool:
        day = as_date(day)
        known = self._days.get(day)
        if known is not None:
            return known
        self._check_loaded(day.year)
        if day in self._official:
            known = self._official[day]
        elif self._package_covers(day.year):
            known = chinese_calendar.is_workday(day)
        else:
            known = not is_weekend(day) and not statutory_holiday(day)
        self._days[day] = known
        return known

    def add_workdays(self, start: datetime.date, n: int) -> DueDate:
        """The n-th working day AFTER start: start itself never counts, so a claim completed on
        a Friday evening with n=1 is due the next working day. The basis reflects the years of
        the days counted (start+1 … the due date)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        start = as_date(start)
        key = (start, n)
        cached = self._due.get(key)
        if cached is not None:
            return cached
        day = start
        left = n
        while left:
            day += ONE_DAY
            if self.is_workday(day):
                left -= 1
        first_year = (start + ONE_DAY).year
        uncovered = tuple(y for y in range(first_year, day.year + 1) if not self.covered(y))
        due = DueDate(day, WEEKENDS_ONLY if uncovered else OFFICIAL, uncovered)
        self._due[key] = due
        return due


def _year_ranges(years: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted runs of consecutive years: {2026, 2027, 2030} → [(2026, 2027), (2030, 2030)]."""
    runs: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if runs and runs[-1][1] == year - 1:
            runs[-1] = (runs[-1][0], year)
        else:
            runs.append((year, year))
    return runs


def calendar_for_years(years: Iterable[int]) -> WorkdayCalendar:
    """A calendar holding the admin entries of ``years`` and of the year after each (a due date
    counted from late December ends in January), in one query.

    The query is a UNION of the OfficialDay rows in those years (date ranges, so the unique index
    on ``date`` serves it) and the complete HolidayYear rows, told apart by which columns are
    NULL.
    """
    from claims.models import HolidayYear, OfficialDay

    wanted = {int(y) for y in years}
    wanted |= {y + 1 for y in wanted}
    if not wanted:
        return WorkdayCalendar(years=())
    in_years = Q()
    for first, last in _year_ranges(wanted):
        in_years |= Q(date__gte=datetime.date(first, 1, 1), date__lte=datetime.date(last, 12, 31))
    days = (
        OfficialDay.objects.filter(in_years)
        .order_by()
        .values_list("date", "is_workday", Value(None, output_field=IntegerField()))
    )
    complete = (
        HolidayYear.objects.filter(year__in=wanted, complete=True)
        .order_by()
        .values_list(
            Value(None, output_field=DateField()),
            Value(None, output_field=BooleanField()),
            "year",
        )
    )
    official: dict[datetime.date, bool] = {}
    complete_years: set[int] = set()
    for day, is_workday, year in days.union(complete, all=True):
        if year is not None:
            complete_years.add(year)
        else:
            official[day] = bool(is_workday)
    return WorkdayCalendar(official, complete_years, years=wanted)


def due_date(completed_on: datetime.date, working_days: int = 10) -> DueDate:
    """When a claim whose documents became complete on ``completed_on`` must be paid by
    (one query). For many claims build one ``calendar_for_years`` and call ``add_workdays``."""
    completed_on = as_date(completed_on)
    return calendar_for_years([completed_on.year]).add_workdays(completed_on, working_days)


def overdue(due: datetime.date | None, today: datetime.date, paid: bool) -> bool:
    """Whether an unpaid claim is past its due date. Paying on the due date itself is on time;
    a paid claim, or one without a due date (documents not complete), is never overdue."""
    if paid or due is None:
        return False
    return as_date(today) > as_date(due)
