"""Writers racing for the same people or the same draft: the share limit over overlapping cover
and the one draft per unit, plan and period hold, each in its own thread and connection.

These run on PostgreSQL, where row locks are real and two connections can truly race; SQLite
lets one connection write at a time, which proves nothing about the locks (the same rules are
tested there one writer after the other, in enrollment/tests/)."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from enrollment import rosters
from enrollment.models import SHARE_LIMIT_ERROR, Enrollment, Roster
from enrollment.services import AlreadyEnrolled, coverage_end_for, enrollment_add
from enrollment.tests.test_roster_drafts import stored_rosters
from organisation.models import Member
from plans.engine.funding import FundingChoice
from plans.services import plans_load_catalog
from tests import factories
from tests.races import postgres_only, race  # noqa: F401 - postgres_only is an autouse fixture
from tests.test_roster_journey import good_rows, workbook

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]

D = datetime.date
JAN, FEB = D(2026, 1, 1), D(2026, 2, 1)


def most_shares_on_any_day(member: Member) -> int:
    live = Enrollment.objects.filter(member=member).exclude(status=Enrollment.Status.CANCELLED)
    periods = list(live.values_list("coverage_start", "coverage_end", "shares"))
    return max((sum(n for s, e, n in periods if s <= day <= e) for day, _, _ in periods), default=0)


def test_two_imports_of_overlapping_periods_racing_enroll_each_person_once(world):
    plans_load_catalog()
    people = 20
    data = workbook(good_rows(people))

    def submitting(union, start):
        union.headcount = 0
        union.save()
        roster = factories.RosterFactory(
            union=union,
            created_by=world.clerk_a,
            coverage_start=start,
            coverage_end=coverage_end_for(start, 12),
            status=Roster.Status.SUBMITTING,
        )
        roster.file.save("roster.xlsx", ContentFile(data), save=True)
        return roster

    january = submitting(world.unit_a, JAN)
    february = submitting(world.unit_b, FEB)

    def importing(roster):
        return lambda: rosters.roster_import_run(
            roster_id=roster.pk, token=str(roster.check_token), actor_id=world.clerk_a.pk
        )

    results = race(importing(january), importing(february))
    assert results == [None, None]
    statuses = sorted(
        Roster.objects.filter(pk__in=[january.pk, february.pk]).values_list("status", flat=True)
    )
    assert statuses == [Roster.Status.CHECKED, Roster.Status.SUBMITTED]
    refused = Roster.objects.get(status=Roster.Status.CHECKED, pk__in=[january.pk, february.pk])
    assert not refused.enrollments.exists()
    assert refused.findings.filter(code="already_enrolled").exists()
    members = Member.objects.filter(union__in=[world.unit_a, world.unit_b]).exclude(
        pk__in=[world.member_a.pk, world.member_b.pk]
    )
    assert members.count() == people
    assert {most_shares_on_any_day(m) for m in members} == {1}


def test_overlapping_enrollments_written_at_once_for_one_person_stay_within_the_limit(world):
    version = factories.catalog_version()  # one share a person
    starts = [D(2026, month, 1) for month in range(1, 9)]

    def write(start):
        def action():
            with transaction.atomic():
                Enrollment.objects.create(
                    member=world.member_a,
                    plan=version.plan,
                    plan_version=version,
                    union=world.unit_a,
                    coverage_start=start,
                    coverage_end=coverage_end_for(start, 12),
                    shares=1,
                    fee=Decimal("110.00"),
                )
                time.sleep(0.2)  # hold the transaction open while the others try
            return "written"

        return action

    results = race(*(write(start) for start in starts))
    assert results.count("written") == 1, results
    refused = [r for r in results if r != "written"]
    assert all(isinstance(r, IntegrityError) and SHARE_LIMIT_ERROR in str(r) for r in refused)
    assert most_shares_on_any_day(world.member_a) == 1


def test_enrolling_one_person_from_several_units_at_once_keeps_the_limit(world):
    version = factories.catalog_version("linyi-accident-2019")  # four shares a person
    units = [world.unit_a, world.unit_b, world.unit_c, world.other_unit]

    def add(union, start):
        return lambda: enrollment_add(
            member=world.member_a,
            plan_version=version,
            union=union,
            coverage_start=start,
            shares=2,
            fee=Decimal("50.00"),
        )

    starts = [JAN, FEB, D(2026, 3, 1), D(2026, 4, 1)]
    results = race(*(add(u, s) for u, s in zip(units, starts, strict=True)))
    written = [r for r in results if isinstance(r, Enrollment)]
    assert len(written) == 2, results
    assert all(isinstance(r, AlreadyEnrolled) for r in results if r not in written)
    assert most_shares_on_any_day(world.member_a) == 4


def test_ten_uploads_at_once_keep_one_draft(world):
    plans_load_catalog()
    version = factories.catalog_version()
    data = workbook(good_rows(3))
    before = stored_rosters()

    def upload(n):
        return lambda: rosters.roster_upload(
            user=world.clerk_a,
            union=world.unit_a,
            plan_version=version,
            coverage_start=JAN,
            funding=FundingChoice(mode=None, percent={"unit": 60, "member": 40}),
            upload=SimpleUploadedFile(f"名单{n}.xlsx", data),
        )

    results = race(*(upload(n) for n in range(10)))
    assert all(isinstance(r, Roster) for r in results), results
    drafts = Roster.objects.filter(union=world.unit_a)
    assert drafts.count() == 1
    draft = drafts.get()
    # Every upload replaced the one before it, so the last one saved is the draft.
    assert draft.original_name in {f"名单{n}.xlsx" for n in range(10)}
    assert {r.pk for r in results} == {draft.pk}
    # The files of the replaced uploads are gone; only the draft's own is kept.
    assert stored_rosters() - before == {draft.file.name}
