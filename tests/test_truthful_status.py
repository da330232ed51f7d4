"""Status and counts that tell the truth: cover read by its dates around the year end, one
definition of "in force" shared by the home page and the dashboards, union figures that include
everything below, roster badges coloured by meaning, and submit/approve only after a
confirmation."""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, status
from enrollment.models import Enrollment, Roster
from mutualaid.outbox.models import Job
from oversight import dashboards
from tests import factories

D = datetime.date


@contextmanager
def today_is(day: datetime.date):
    """The portal's "today" (``timezone.localdate()`` without an argument) is ``day``; the
    clock itself runs on (sessions and sign-in limits read it)."""
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return day if value is None else real(value, timezone)

    with mock.patch("django.utils.timezone.localdate", side_effect=localdate):
        yield


def badge_of(response) -> list[str]:
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-status="')[1:]]


# --- cover read by its dates ---------------------------------------------------------------------


def test_cover_for_next_year_is_paid_not_in_force_until_it_starts(world):
    cover = factories.enroll(world.member_a, coverage_start=D(2027, 1, 1))
    assert (cover.coverage_start, cover.coverage_end) == (D(2027, 1, 1), D(2027, 12, 31))
    expected = {
        D(2026, 12, 31): "paid_not_started",
        D(2027, 1, 1): "in_force",
        D(2027, 12, 31): "in_force",
        D(2028, 1, 1): "expired",
    }
    for day, key in expected.items():
        assert status.enrollment_status(cover, on=day).key == key, day
        in_force = Enrollment.objects.in_force(day).filter(pk=cover.pk).exists()
        assert in_force == (key == "in_force"), day
    with mock.patch("django.utils.translation.gettext", side_effect=lambda s: s):
        label = status.enrollment_status(cover, on=D(2026, 12, 15)).label
    assert "2027-01-01" in label

    pending = factories.enroll(world.member_b, status="pending")
    cancelled = factories.enroll(world.member_c, status="cancelled")
    assert status.enrollment_status(pending, on=D(2026, 6, 1)).key == "awaiting_payment"
    assert status.enrollment_status(cancelled, on=D(2026, 6, 1)).key == "cancelled"
    assert not Enrollment.objects.in_force(D(2026, 6, 1)).filter(pk__in=[pending.pk, cancelled.pk])


def test_member_and_roster_pages_show_cover_by_its_dates(client, world):
    version = factories.catalog_version()
    roster = factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        coverage_start=D(2027, 1, 1),
        coverage_end=D(2027, 12, 31),
        status=Roster.Status.PAID,
        payment_amount=Decimal("110.00"),
        rows_valid=1,
    )
    factories.enroll(world.member_a, version, coverage_start=D(2027, 1, 1), roster=roster)
    factories.enroll(world.member_a, version, coverage_start=D(2025, 1, 1))
    client.force_login(world.clerk_a)
    member_page = reverse("enrollment:member_detail", args=[world.member_a.pk])
    roster_page = reverse("enrollment:roster_detail", args=[roster.pk])
    with today_is(D(2026, 12, 20)):
        assert badge_of(client.get(member_page)) == ["paid_not_started", "expired"]
        detail = badge_of(client.get(roster_page))
        assert detail[0] == "paid_not_started" and "paid_not_started" in detail[1:]
        assert "in_force" not in detail
        assert badge_of(client.get(reverse("enrollment:roster_list"))) == ["paid_not_started"]
    with today_is(D(2027, 1, 1)):
        assert badge_of(client.get(member_page)) == ["in_force", "expired"]
        assert badge_of(client.get(reverse("enrollment:roster_list"))) == ["paid"]
    with today_is(D(2028, 1, 1)):
        assert badge_of(client.get(member_page)) == ["expired", "expired"]
        assert badge_of(client.get(reverse("enrollment:roster_list"))) == ["expired"]


# --- one definition of "in force", the same counts everywhere -----------------------------------


@pytest.fixture
def mixed_cover(world):
    """Cover of every kind in office A on 15 December 2026; 3 people and 4 pieces in force."""
    jilin = factories.catalog_version("jilin-allowance-2020")
    linyi = factories.catalog_version("linyi-accident-2019")
    factories.enroll(world.member_a, jilin)  # 2026: in force
    factories.enroll(world.member_a, linyi)  # the same person in a second plan
    factories.enroll(world.member_b, jilin)  # in force
    factories.enroll(world.member_c, jilin, coverage_start=D(2026, 7, 1))  # Jul 2026 – Jun 2027
    factories.enroll(
        factories.MemberFactory(union=world.unit_a), jilin, coverage_start=D(2027, 1, 1)
    )
    factories.enroll(
        factories.MemberFactory(union=world.unit_b), jilin, coverage_start=D(2025, 1, 1)
    )
    factories.enroll(factories.MemberFactory(union=world.unit_b), jilin, status="pending")
    factories.enroll(factories.MemberFactory(union=world.unit_c), jilin, status="cancelled")
    factories.enroll(world.other_member, jilin)  # another office
    return jilin, linyi


def test_home_and_dashboard_count_the_same_cover(client, world, mixed_cover):
    day = D(2026, 12, 15)
    with today_is(day):
        for user in (world.office_staff, world.auditor):
            client.force_login(user)
            home = client.get(reverse("home")).context["summary"]
            assert (home["people_in_force"], home["enrollments_in_force"]) == (3, 4)
            page = client.get(reverse("oversight:dashboards"))
            assert page.context["filters"].date_to == day
            assert page.context["in_force"] == {"people": 3, "enrollments": 4}
            table = dashboards.participation(user, page.context["filters"])
            total = table.rows[-1]
            assert total.values[0] == dashboards.gettext("Total")
            assert total.values[4] == home["people_in_force"]
        client.force_login(world.county_staff_a)  # county A: unit A only
        home = client.get(reverse("home")).context["summary"]
        assert (home["people_in_force"], home["enrollments_in_force"]) == (1, 2)
    # On New Year's Day the 2027 cover starts and the 2026 cover has ended.
    assert selectors.in_force_counts(world.office_staff, D(2027, 1, 1)) == {
        "people": 2,
        "enrollments": 2,
    }
    assert selectors.in_force_counts(world.office_staff, D(2026, 12, 31)) == {
        "people": 3,
        "enrollments": 4,
    }


# --- subtree totals -----------------------------------------------------------------------------


def test_union_figures_include_everything_below(client, world, mixed_cover):
    jilin, _linyi = mixed_cover
    world.unit_b.headcount = 40
    world.unit_b.save()
    # A person moved from unit C to unit B, with cover in both: one person in county B.
    mover = factories.MemberFactory(union=world.unit_b)
    factories.enroll(mover, jilin, union=world.unit_b)
    factories.enroll(mover, factories.catalog_version("linyi-accident-2019"), union=world.unit_c)
    on = D(2026, 12, 15)
    totals = selectors.subtree_totals(
        world.office_staff, [world.office, world.county_a, world.county_b, world.unit_c], on
    )
    county_b = totals[world.county_b.pk]
    # Members: B, C, three more in units B and C (expired, pending, cancelled), and the mover.
    assert county_b.members == 6
    assert county_b.headcount == 100 + 40 + 100  # the county's own, units B and C
    assert (county_b.people_in_force, county_b.enrollments_in_force) == (3, 4)
    assert totals[world.unit_c.pk].people_in_force == 2
    office = totals[world.office.pk]
    assert (office.people_in_force, office.enrollments_in_force) == (4, 6)
    assert office.members == 3 + 4 + 1  # the world's three, four of the fixture's, the mover
    # Never the other office's, even when asked about its nodes.
    other = selectors.subtree_totals(world.office_staff, [world.other_office], on)
    assert other[world.other_office.pk].members == 0

    # Three queries, however many nodes.
    with CaptureQueriesContext(connection) as few:
        selectors.subtree_totals(world.office_staff, [world.county_a], on)
    with CaptureQueriesContext(connection) as many:
        selectors.subtree_totals(
            world.office_staff,
            [world.office, world.county_a, world.county_b, world.unit_a, world.unit_b],
            on,
        )
    assert len(few) == len(many) == 3

    client.force_login(world.office_staff)
    with today_is(on):
        page = client.get(reverse("enrollment:union_list"))
        rows = {u.pk: u.totals for u in page.context["page"].object_list}
        assert rows[world.county_b.pk] == county_b
        detail = client.get(reverse("enrollment:union_detail", args=[world.county_b.pk]))
        assert detail.context["totals"] == county_b
        home = client.get(reverse("home"))
        assert {c.pk: c.totals for c in home.context["children"]}[world.county_b.pk] == county_b


# --- roster badges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "key", "css"),
    [
        ({"status": "checked", "error_count": 2, "rows_valid": 3}, "has_errors", status.DANGER),
        (
            {"status": "checked", "warning_count": 1, "rows_valid": 3},
            "checked_warnings",
            status.WARNING,
        ),
        ({"status": "checked", "rows_valid": 3}, "checked", status.SUCCESS),
        ({"status": "checked", "rows_valid": 0}, "nobody_to_enrol", status.WARNING),
        ({"status": "checking"}, "checking", status.WORKING),
        ({"status": "refused"}, "refused", status.DANGER),
        ({"status": "returned"}, "returned", status.WARNING),
        ({"status": "submitted"}, "submitted", status.PRIMARY),
        ({"status": "approved"}, "approved", status.INFO),
        ({"status": "withdrawn"}, "withdrawn", status.NEUTRAL),
        ({"status": "paid"}, "paid", status.SUCCESS),
    ],
)
def test_roster_badge_by_meaning(fields, key, css):
    roster = Roster(coverage_start=D(2026, 1, 1), coverage_end=D(2026, 12, 31), **fields)
    badge = status.roster_badge(roster, on=D(2026, 6, 1))
    assert (badge.key, badge.css) == (key, css)


def test_a_roster_with_errors_never_looks_checked(client, world):
    factories.RosterFactory(union=world.unit_a, error_count=3, rows_valid=5)
    client.force_login(world.clerk_a)
    listing = client.get(reverse("enrollment:roster_list"))
    assert badge_of(listing) == ["has_errors"]
    assert 'class="badge text-bg-danger' in listing.content.decode()
    assert badge_of(client.get(reverse("home"))) == ["has_errors"]


# --- confirm before submitting and approving --------------------------------------------------


def test_submit_asks_first_and_acts_only_when_confirmed(client, world):
    roster = factories.RosterFactory(
        union=world.unit_a, created_by=world.clerk_a, rows_valid=3, fee_total=Decimal("330.00")
    )
    url = reverse("enrollment:roster_submit", args=[roster.pk])
    client.force_login(world.clerk_a)
    page = client.post(url)
    assert page.status_code == 200
    assert page.templates[0].name == "enrollment/roster_confirm.html"
    html = page.content.decode()
    assert "330.00" in html and world.unit_a.name in html and "2026-12-31" in html
    assert page.context["people"] == 3
    assert f'name="confirmed" value="{roster.check_token}"' in html
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and not Job.objects.exists()

    # A confirmation of another file (a new upload since) does nothing either.
    client.post(url, {"confirmed": "0" * 32})
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and not Job.objects.exists()

    response = client.post(url, {"confirmed": str(roster.check_token)})
    assert response.status_code == 302
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTING


def test_submit_of_a_roster_with_errors_shows_no_confirmation(client, world):
    roster = factories.RosterFactory(union=world.unit_a, error_count=1, rows_valid=3)
    client.force_login(world.clerk_a)
    response = client.post(reverse("enrollment:roster_submit", args=[roster.pk]))
    assert response.status_code == 302
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED


def test_approve_asks_first_and_acts_only_when_confirmed(client, world):
    version = factories.catalog_version()
    roster = factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        status=Roster.Status.SUBMITTED,
        rows_valid=2,
        fee_total=Decimal("220.00"),
    )
    for member in (world.member_a, factories.MemberFactory(union=world.unit_a)):
        factories.enroll(member, version, roster=roster, status="pending")
    url = reverse("enrollment:roster_approve", args=[roster.pk])
    client.force_login(world.office_staff)
    page = client.post(url)
    assert page.status_code == 200 and page.context["people"] == 2
    assert "220.00" in page.content.decode()
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    client.post(url, {"confirmed": str(roster.check_token)})
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED
