"""One cover per person per plan and time: the share limit holds over overlapping periods, not
only over periods starting on the same day, in the roster check, in the import and in the
database itself. (The racing writers are in tests/test_enrollment_concurrency.py, on
PostgreSQL.)"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from enrollment import enrolling
from enrollment.models import SHARE_LIMIT_ERROR, Enrollment, Roster
from enrollment.rosters import _import_rows
from enrollment.selectors import held_shares, most_held
from enrollment.services import AlreadyEnrolled, enrollment_add
from plans.engine.roster import check_roster
from plans.services import plans_load_catalog
from tests import factories
from tests.test_roster_journey import good_rows, person_id, workbook

D = datetime.date
JAN, FEB = D(2026, 1, 1), D(2026, 2, 1)


@pytest.fixture
def run(world, client, django_capture_on_commit_callbacks):
    """Clerk B at work; each action runs with the worker's tasks run as they are enqueued."""
    plans_load_catalog()
    world.unit_b.headcount = 3
    world.unit_b.save()
    client.force_login(world.clerk_b)

    def go(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return go


def upload(client, data: bytes, start: datetime.date):
    return client.post(
        reverse("enrollment:roster_upload"),
        {
            "plan": "jilin-allowance-2020",
            "coverage_start": start.isoformat(),
            "unit_percent": "60",
            "union_percent": "0",
            "member_percent": "40",
            "file": SimpleUploadedFile("名单.xlsx", data),
        },
    )


def covered(world, start: datetime.date, serials=(1, 2, 3), version=None, shares=1):
    """The people of ``good_rows(3)`` with active cover through unit A from ``start``."""
    version = version or factories.catalog_version()
    people = []
    for serial in serials:
        member = factories.MemberFactory(union=world.unit_a, id_number=person_id(serial))
        enrollment_add(
            member=member,
            plan_version=version,
            union=world.unit_a,
            coverage_start=start,
            shares=shares,
            fee=Decimal("110.00"),
            status=Enrollment.Status.ACTIVE,
        )
        people.append(member)
    return people


def live_shares_on(member, day: datetime.date) -> int:
    return sum(
        Enrollment.objects.filter(member=member, coverage_start__lte=day, coverage_end__gte=day)
        .exclude(status=Enrollment.Status.CANCELLED)
        .values_list("shares", flat=True)
    )


# --- the case that was reproduced ---------------------------------------------------------------


def test_a_february_roster_of_people_covered_from_january_is_refused_at_check(client, world, run):
    people = covered(world, JAN)
    run(upload, client, workbook(good_rows(3)), FEB)
    roster = Roster.objects.get(union=world.unit_b)
    assert roster.status == Roster.Status.CHECKED
    assert roster.rows_valid == 0 and not roster.can_submit
    found = sorted(roster.findings.filter(code="already_enrolled").values_list("row", flat=True))
    assert found == [3, 4, 5]
    # Submitting is refused, and nobody holds a second cover.
    run(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED
    assert not roster.enrollments.exists()
    assert [live_shares_on(m, D(2026, 6, 1)) for m in people] == [1, 1, 1]


def test_the_command_line_check_finds_the_same_people_already_enrolled(world, tmp_path, capsys):
    plans_load_catalog()
    covered(world, JAN)
    path = tmp_path / "名单.xlsx"
    path.write_bytes(workbook(good_rows(3)))
    with pytest.raises(SystemExit) as exit_status:
        call_command(
            "check_roster",
            str(path),
            "--plan=jilin-allowance-2020",
            "--coverage-start=2026-02-01",
            f"--union={world.unit_b.code}",
            "--json",
        )
    assert exit_status.value.code == 1
    payload = json.loads(capsys.readouterr().out)
    assert [f["row"] for f in payload["findings"] if f["code"] == "already_enrolled"] == [3, 4, 5]
    assert payload["valid_rows"] == 0


def test_cover_taken_between_check_and_submit_is_refused_at_import(client, world, run):
    run(upload, client, workbook(good_rows(3)), FEB)
    roster = Roster.objects.get(union=world.unit_b)
    assert roster.can_submit
    covered(world, JAN)  # another unit enrolls the same people meanwhile
    run(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED
    assert roster.findings.filter(code="already_enrolled").count() == 3
    assert not roster.enrollments.exists()


def test_the_import_itself_refuses_overlapping_cover(world):
    plans_load_catalog()
    covered(world, JAN)
    roster = factories.RosterFactory(
        union=world.unit_b, coverage_start=FEB, coverage_end=D(2027, 1, 31), status="submitting"
    )
    rows = check_roster(
        workbook(good_rows(3)),
        rules=roster.plan_version.parsed_rules,
        plan_code="jilin-allowance-2020",
        coverage_start=FEB,
    ).valid
    with pytest.raises(enrolling.ImportRefused) as refused, transaction.atomic():
        _import_rows(roster, rows)
    assert [f.row for f in refused.value.findings] == [3, 4, 5]
    assert {f.code for f in refused.value.findings} == {"already_enrolled"}
    assert not roster.enrollments.exists()


def test_the_database_refuses_the_import_when_the_check_is_bypassed(world, monkeypatch):
    plans_load_catalog()
    covered(world, JAN)
    roster = factories.RosterFactory(
        union=world.unit_b, coverage_start=FEB, coverage_end=D(2027, 1, 31), status="submitting"
    )
    rows = check_roster(
        workbook(good_rows(3)),
        rules=roster.plan_version.parsed_rules,
        plan_code="jilin-allowance-2020",
        coverage_start=FEB,
    ).valid
    monkeypatch.setattr(enrolling, "held_shares", lambda **kwargs: {})
    with pytest.raises(enrolling.ImportRefused) as refused, transaction.atomic():
        _import_rows(roster, rows)
    assert refused.value.findings[0].code == "already_enrolled"
    assert not roster.enrollments.exists()


# --- which periods overlap -----------------------------------------------------------------------


def test_partial_overlap_counts(client, world, run):
    # Cover from 1 July 2025 to 30 June 2026 overlaps a roster for 2026 by six months.
    covered(world, D(2025, 7, 1), serials=(2,))
    run(upload, client, workbook(good_rows(3)), JAN)
    roster = Roster.objects.get(union=world.unit_b)
    assert list(roster.findings.filter(code="already_enrolled").values_list("row", flat=True)) == [
        4
    ]
    assert roster.rows_valid == 2


def test_adjacent_periods_do_not_overlap(client, world, run):
    people = covered(world, D(2025, 1, 1))  # ends 31 December 2025
    run(upload, client, workbook(good_rows(3)), JAN)
    roster = Roster.objects.get(union=world.unit_b)
    assert roster.error_count == 0 and roster.can_submit
    run(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    assert roster.enrollments.count() == 3
    # And the next period after this one is free as well.
    version = factories.catalog_version()
    enrollment_add(
        member=people[0],
        plan_version=version,
        union=world.unit_a,
        coverage_start=D(2027, 1, 1),
        shares=1,
        fee=Decimal("110.00"),
    )
    assert [live_shares_on(people[0], day) for day in (D(2025, 12, 31), JAN, D(2027, 1, 1))] == [
        1,
        1,
        1,
    ]


def test_one_day_in_common_is_an_overlap(world):
    plans_load_catalog()
    (member,) = covered(world, JAN, serials=(1,))  # to 31 December 2026
    with pytest.raises(AlreadyEnrolled) as refused:
        enrollment_add(
            member=member,
            plan_version=factories.catalog_version(),
            union=world.unit_b,
            coverage_start=D(2026, 12, 31),
            shares=1,
            fee=Decimal("110.00"),
        )
    assert (refused.value.held, refused.value.limit) == (1, 1)
    assert Enrollment.objects.filter(member=member).count() == 1


# --- shares split over periods -------------------------------------------------------------------


def test_shares_count_on_the_busiest_day_not_summed_over_the_period(world):
    linyi = factories.catalog_version("linyi-accident-2019")  # at most 4 shares a person
    (member,) = covered(world, JAN, serials=(1,), version=linyi, shares=2)
    add = dict(member=member, plan_version=linyi, union=world.unit_b, fee=Decimal("50.00"))
    enrollment_add(coverage_start=D(2027, 1, 1), shares=2, **add)
    # From 1 July 2026 to 30 June 2027 the person holds 2 shares on every day: 2 more fit.
    enrollment_add(coverage_start=D(2026, 7, 1), shares=2, **add)
    with pytest.raises(AlreadyEnrolled) as refused:
        enrollment_add(coverage_start=D(2026, 10, 1), shares=1, **add)
    assert (refused.value.held, refused.value.limit) == (4, 4)
    assert held_shares(
        plan_id=linyi.plan_id,
        coverage_start=D(2026, 3, 1),
        coverage_end=D(2026, 3, 31),
        id_numbers=[member.id_number],
    ) == {member.id_number: 2}


def test_most_held_looks_at_the_days_where_cover_begins():
    cover = [(JAN, D(2026, 12, 31), 2), (D(2027, 1, 1), D(2027, 12, 31), 2)]
    assert most_held(cover, D(2026, 7, 1), D(2027, 6, 30)) == 2
    cover.append((D(2026, 12, 31), D(2027, 1, 1), 1))
    assert most_held(cover, D(2026, 7, 1), D(2027, 6, 30)) == 3
    assert most_held(cover, D(2028, 1, 1), D(2028, 12, 31)) == 0
    assert most_held([], JAN, D(2026, 12, 31)) == 0


# --- the database's own guard --------------------------------------------------------------------


def test_the_database_refuses_overlapping_cover_beyond_the_limit(world):
    version = factories.catalog_version()
    factories.enroll(world.member_a, version, coverage_start=JAN)
    with pytest.raises(IntegrityError, match=SHARE_LIMIT_ERROR), transaction.atomic():
        factories.enroll(world.member_a, version, coverage_start=FEB)
    # Adjacent cover and cancelled cover are fine.
    factories.enroll(world.member_a, version, coverage_start=D(2027, 1, 1))
    cancelled = factories.enroll(world.member_a, version, coverage_start=FEB, status="cancelled")
    # Reviving the cancelled cover, or adding shares, would pass the limit: refused.
    with pytest.raises(IntegrityError, match=SHARE_LIMIT_ERROR), transaction.atomic():
        Enrollment.objects.filter(pk=cancelled.pk).update(status=Enrollment.Status.ACTIVE)
    with pytest.raises(IntegrityError, match=SHARE_LIMIT_ERROR), transaction.atomic():
        Enrollment.objects.filter(coverage_start=JAN).update(shares=2)
    assert live_shares_on(world.member_a, D(2026, 6, 1)) == 1


def test_the_database_lets_existing_cover_change_state(world):
    version = factories.catalog_version()
    pending = factories.enroll(world.member_a, version, status="pending")
    Enrollment.objects.filter(pk=pending.pk).update(status=Enrollment.Status.ACTIVE)
    Enrollment.objects.filter(pk=pending.pk).update(status=Enrollment.Status.CANCELLED)
    factories.enroll(world.member_a, version, coverage_start=FEB)
    assert live_shares_on(world.member_a, D(2026, 6, 1)) == 1


def test_another_plan_is_another_limit(world):
    factories.enroll(world.member_a, factories.catalog_version(), coverage_start=JAN)
    other = factories.enroll(
        world.member_a, factories.catalog_version("linyi-inpatient-2019"), coverage_start=FEB
    )
    assert other.pk is not None
