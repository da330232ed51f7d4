"""A unit's headcount kept in the portal: the clerk proposes, county, city or office staff above
the unit confirm or reject, every step audited; the confirmed number is what the roster check
measures participation against."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation

from enrollment import rosters
from mutualaid.auditlog.models import AuditEntry
from organisation import headcount
from organisation.models import HeadcountProposal
from tests import factories

Status = HeadcountProposal.Status


def _propose(client, world, number, note="年底新招5人"):
    return client.post(
        reverse("enrollment:headcount_propose", args=[world.unit_a.pk]),
        {"headcount": number, "note": note},
    )


def test_clerk_proposes_and_county_staff_confirm(client, world):
    client.force_login(world.clerk_a)
    page = client.get(reverse("enrollment:union_detail", args=[world.unit_a.pk])).content.decode()
    assert reverse("enrollment:headcount_propose", args=[world.unit_a.pk]) in page

    assert _propose(client, world, 120).status_code == 302
    proposal = HeadcountProposal.objects.get()
    assert (proposal.headcount, proposal.previous, proposal.status) == (120, 100, Status.PENDING)
    world.unit_a.refresh_from_db()
    assert world.unit_a.headcount == 100  # not until confirmed
    page = client.get(reverse("enrollment:union_detail", args=[world.unit_a.pk])).content.decode()
    assert 'id="headcount-pending"' in page
    # The clerk cannot decide on their own number.
    decide = reverse("enrollment:headcount_decide", args=[proposal.pk])
    assert client.post(decide, {"confirm": "1"}).status_code == 403

    client.force_login(world.county_staff_a)
    page = client.get(reverse("enrollment:union_detail", args=[world.unit_a.pk])).content.decode()
    assert decide in page
    confirm_page = client.get(decide)
    assert confirm_page.status_code == 200 and "年底新招5人" in confirm_page.content.decode()
    assert client.post(decide, {"confirm": "1"}).status_code == 302
    proposal.refresh_from_db()
    world.unit_a.refresh_from_db()
    assert proposal.status == Status.CONFIRMED and proposal.decided_by == world.county_staff_a
    assert world.unit_a.headcount == 120

    created = AuditEntry.objects.get(object_type="headcount_proposal", action="create")
    assert created.actor == world.clerk_a and created.union_id == world.unit_a.pk
    assert created.trail == f"union:{world.unit_a.pk}"
    change = AuditEntry.objects.get(
        object_type="union", action="update", actor=world.county_staff_a
    )
    assert change.object_id == str(world.unit_a.pk)
    assert change.changes["headcount"] == [100, 120]
    assert AuditEntry.objects.filter(
        object_type="headcount_proposal", action="update", actor=world.county_staff_a
    ).exists()
    # Decided once: a second decision changes nothing.
    client.force_login(world.office_staff)
    again = client.post(decide, {"reject": "1", "note": "不对"})
    assert again.status_code == 200
    proposal.refresh_from_db()
    assert proposal.status == Status.CONFIRMED


def test_who_may_decide(client, world):
    proposal = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=90)
    decide = reverse("enrollment:headcount_decide", args=[proposal.pk])
    for user in (world.auditor, world.plan_admin):
        client.force_login(user)
        assert client.post(decide, {"confirm": "1"}).status_code == 403
    for user in (world.clerk_b, world.other_office_staff):
        client.force_login(user)
        assert client.post(decide, {"confirm": "1"}).status_code == 404
    county_b = factories.UserFactory(role="county_staff", union=world.county_b)
    client.force_login(county_b)
    assert client.post(decide, {"confirm": "1"}).status_code == 404
    with pytest.raises(headcount.HeadcountError):
        headcount.headcount_decide(user=world.clerk_a, proposal=proposal, confirm=True)
    client.force_login(world.office_staff)
    assert client.post(decide, {"confirm": "1"}).status_code == 302
    world.unit_a.refresh_from_db()
    assert world.unit_a.headcount == 90


def test_only_the_units_clerk_proposes(client, world):
    url = reverse("enrollment:headcount_propose", args=[world.unit_a.pk])
    client.force_login(world.county_staff_a)
    assert client.post(url, {"headcount": 5}).status_code == 403
    client.force_login(world.clerk_b)
    assert client.post(url, {"headcount": 5}).status_code == 404
    assert not HeadcountProposal.objects.exists()


def test_bad_numbers_are_refused_with_a_message(client, world):
    client.force_login(world.clerk_a)
    client.cookies["django_language"] = "en"
    for bad in ("0", "-3", "abc", "2000001", ""):
        response = _propose(client, world, bad)
        assert response.status_code == 200, bad
        assert response.context["form"].errors, bad
    assert not HeadcountProposal.objects.exists()
    with translation.override("en"), pytest.raises(headcount.HeadcountError, match="1 to"):
        headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=0)


def test_rejecting_needs_a_reason_and_keeps_the_number(client, world):
    proposal = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=20)
    decide = reverse("enrollment:headcount_decide", args=[proposal.pk])
    client.force_login(world.county_staff_a)
    client.cookies["django_language"] = "en"
    response = client.post(decide, {"reject": "1", "note": ""})
    assert "Say why the proposal is rejected" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == Status.PENDING
    assert client.post(decide, {"reject": "1", "note": "在册人数应为105"}).status_code == 302
    proposal.refresh_from_db()
    world.unit_a.refresh_from_db()
    assert proposal.status == Status.REJECTED and world.unit_a.headcount == 100


def test_a_new_proposal_replaces_the_waiting_one(world):
    first = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=20)
    second = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=25)
    first.refresh_from_db()
    assert first.status == Status.WITHDRAWN and second.status == Status.PENDING
    assert headcount.pending_proposal(world.unit_a) == second
    # The database holds one waiting proposal per unit, whatever the code does.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        HeadcountProposal.objects.create(union=world.unit_a, headcount=3, proposed_by=world.clerk_a)


def _roster_file(rows: int) -> bytes:
    from tests.test_roster_journey import good_rows

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号", "用工类型", "是否参加医保", "银行卡号"])
    for row in good_rows(rows):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_roster_check_uses_the_confirmed_headcount(world):
    from django.core.files.base import ContentFile

    version = factories.catalog_version("jilin-allowance-2020")  # under 200 people: 100%
    roster = factories.RosterFactory(
        union=world.unit_a,
        plan_version=version,
        coverage_start=datetime.date(2027, 1, 1),
        coverage_end=datetime.date(2027, 12, 31),
        created_by=world.clerk_a,
    )
    roster.file.save("r.xlsx", ContentFile(_roster_file(5)))
    world.unit_a.headcount = 0
    world.unit_a.save()
    proposal = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=8)
    roster.refresh_from_db()
    # Waiting: not used.
    codes = {f.code for f in rosters._run_check(roster).findings}
    assert "participation_below_minimum" not in codes
    headcount.headcount_decide(user=world.county_staff_a, proposal=proposal, confirm=True)
    roster = type(roster).objects.select_related("union", "plan_version__plan").get(pk=roster.pk)
    codes = {f.code for f in rosters._run_check(roster).findings}
    assert "participation_below_minimum" in codes


def test_waiting_proposals_are_listed_on_the_deciders_home_page(client, world):
    proposal = headcount.headcount_propose(user=world.clerk_a, union=world.unit_a, headcount=130)
    decide = reverse("enrollment:headcount_decide", args=[proposal.pk])
    for user in (world.county_staff_a, world.office_staff):
        client.force_login(user)
        page = client.get(reverse("home")).content.decode()
        assert 'id="headcount-proposals"' in page and decide in page, user.role
        assert world.unit_a.name in page and "130" in page
    # Not for those who may not decide it, nor once it is decided.
    for user in (world.clerk_a, world.other_office_staff, world.auditor):
        client.force_login(user)
        assert decide not in client.get(reverse("home")).content.decode(), user.role
    headcount.headcount_decide(user=world.county_staff_a, proposal=proposal, confirm=True)
    client.force_login(world.office_staff)
    assert 'id="headcount-proposals"' not in client.get(reverse("home")).content.decode()
