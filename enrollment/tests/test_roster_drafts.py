"""One draft per unit, plan and coverage start, held by the database; and a roster that fails
keeps no workbook. (Ten uploads at the same moment are in tests/test_enrollment_concurrency.py,
on PostgreSQL.)"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from enrollment import rosters
from enrollment.models import Roster
from plans.engine.funding import FundingChoice
from plans.services import plans_load_catalog
from tests import factories
from tests.test_roster_journey import good_rows, workbook

JAN = datetime.date(2026, 1, 1)
STORAGE = Roster.file.field.storage


def stored_rosters() -> set[str]:
    """Every roster workbook on disk."""
    found: set[str] = set()

    def walk(folder: str) -> None:
        if not STORAGE.exists(folder):
            return
        folders, files = STORAGE.listdir(folder)
        found.update(f"{folder}/{name}" for name in files)
        for sub in folders:
            walk(f"{folder}/{sub}")

    walk("rosters")
    return found


@pytest.fixture
def uploading(world, django_capture_on_commit_callbacks):
    plans_load_catalog()
    version = factories.catalog_version()

    def upload(name: str = "名单.xlsx", start: datetime.date = JAN):
        with django_capture_on_commit_callbacks(execute=True):
            return rosters.roster_upload(
                user=world.clerk_a,
                union=world.unit_a,
                plan_version=version,
                coverage_start=start,
                funding=FundingChoice(mode=None, percent={"unit": 60, "member": 40}),
                upload=SimpleUploadedFile(name, workbook(good_rows(2))),
            )

    return upload


def test_uploads_one_after_another_replace_one_draft_and_its_file(world, uploading):
    before = stored_rosters()
    for n in range(10):
        last = uploading(f"名单{n}.xlsx")
    drafts = Roster.objects.filter(union=world.unit_a)
    assert drafts.count() == 1
    assert drafts.get().original_name == "名单9.xlsx"
    last.refresh_from_db()
    assert stored_rosters() - before == {last.file.name}
    # Another coverage start is another draft.
    uploading(start=datetime.date(2027, 1, 1))
    assert Roster.objects.filter(union=world.unit_a).count() == 2


def test_the_database_holds_one_open_draft_per_unit_plan_and_period(world):
    factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a, status="returned")
    # Rosters past the draft stage do not count: a unit may start a new draft beside them.
    factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a, status="submitted")
    factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a, status="withdrawn")
    assert Roster.objects.filter(union=world.unit_a).count() == 3
    # The plan is always the version's.
    assert {r.plan_id for r in Roster.objects.all()} == {factories.catalog_version().plan_id}


def test_an_upload_losing_a_race_keeps_nothing_and_says_so(client, world, uploading, monkeypatch):
    first = uploading()
    first_file = Roster.objects.get(pk=first.pk).file.name
    before = stored_rosters()
    # As if another upload had saved its draft after this one looked for it.
    monkeypatch.setattr(rosters, "OPEN_FOR_REUPLOAD", (Roster.Status.RETURNED,))
    with pytest.raises(rosters.RosterActionError):
        uploading("second.xlsx")
    assert stored_rosters() == before
    assert list(Roster.objects.values_list("pk", "file")) == [(first.pk, first_file)]
    # The page shows the message in the form, not a server error.
    client.force_login(world.clerk_a)
    response = client.post(
        reverse("enrollment:roster_upload"),
        {
            "plan": "jilin-allowance-2020",
            "coverage_start": JAN.isoformat(),
            "unit_percent": "60",
            "union_percent": "0",
            "member_percent": "40",
            "file": SimpleUploadedFile("third.xlsx", workbook(good_rows(2))),
        },
    )
    assert response.status_code == 200
    assert "alert" in response.content.decode()
    assert stored_rosters() == before
    assert Roster.objects.count() == 1


def test_a_roster_refused_by_a_system_error_keeps_no_workbook(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    plans_load_catalog()
    roster = factories.RosterFactory(
        union=world.unit_a, created_by=world.clerk_a, status="uploaded"
    )
    roster.file.save("roster.xlsx", ContentFile(workbook(good_rows(2))), save=True)
    stored = roster.file.name
    assert STORAGE.exists(stored)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the checker")

    monkeypatch.setattr(rosters, "_run_check", broken)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        rosters.roster_check_run(roster_id=roster.pk, token=str(roster.check_token))
    roster.refresh_from_db()
    assert roster.status == Roster.Status.REFUSED
    assert roster.problem
    assert not roster.file
    assert not STORAGE.exists(stored)


def test_the_check_of_a_replaced_upload_stops_quietly(world, monkeypatch):
    plans_load_catalog()
    roster = factories.RosterFactory(
        union=world.unit_a, created_by=world.clerk_a, status="uploaded"
    )
    roster.file.save("roster.xlsx", ContentFile(workbook(good_rows(2))), save=True)
    token = str(roster.check_token)

    def replaced_meanwhile(checked, **kwargs):
        # A newer upload takes the draft over, with a new token, and deletes this file.
        Roster.objects.filter(pk=checked.pk).update(
            check_token=uuid.uuid4(), status=Roster.Status.UPLOADED
        )
        STORAGE.delete(checked.file.name)
        raise FileNotFoundError(checked.file.name)

    monkeypatch.setattr(rosters, "_run_check", replaced_meanwhile)
    rosters.roster_check_run(roster_id=roster.pk, token=token)  # no error escapes
    roster.refresh_from_db()
    assert roster.status == Roster.Status.UPLOADED and not roster.problem


@pytest.mark.parametrize("status", ["submitting", "submitted", "approved"])
def test_no_new_draft_while_a_roster_of_the_period_is_with_the_office(world, uploading, status):
    """Otherwise returning that roster to the unit would make a second draft (a 500 before)."""
    with_office = uploading()
    Roster.objects.filter(pk=with_office.pk).update(status=status)
    before = stored_rosters()
    with (
        translation.override("en"),
        pytest.raises(rosters.RosterActionError, match="already with the office"),
    ):
        uploading("新名单.xlsx")
    assert Roster.objects.filter(union=world.unit_a).count() == 1
    assert stored_rosters() == before
    # The office can still return it: it is then the one draft.
    if status != "submitting":
        returned = rosters.roster_return(
            roster=Roster.objects.get(pk=with_office.pk), user=world.office_staff, reason="补充"
        )
        assert returned.status == Roster.Status.RETURNED
