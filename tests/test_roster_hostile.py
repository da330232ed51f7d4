"""Hostile workbooks uploaded through the web (issue 12, item 1).

Each file is small and inside every size limit, and once ended the worker that read it: a sheet
stored where pictures belong made calamine abort, one long shared string referred to by 60
cells took it past 4 GB, one row of 20 million cells exhausted its memory. Each upload must end
"refused" with its file-level finding on the roster's page, keep nothing of the file, and leave
the worker able to check the next roster.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from enrollment.models import Roster
from plans.services import plans_load_catalog
from plans.tests.roster_builders import (
    long_shared_string,
    person,
    sheet_stored_as,
    wide_row,
    write_roster,
)
from tests import test_roster_journey, test_roster_worker
from tests.test_roster_journey import good_rows, upload, workbook
from tests.test_roster_worker import BROKERS, wait_for

# The journey's and the worker test's fixtures, shared.
journey = test_roster_journey.journey
worker = test_roster_worker.worker

HOSTILE = [
    pytest.param(
        lambda base: sheet_stored_as(base, "xl/media/sheet1.bin"),
        "file_corrupt",
        id="sheet-in-media",
    ),
    pytest.param(
        lambda base: sheet_stored_as(base, "xl/worksheets/sheet1.bin"),
        "file_corrupt",
        id="sheet-named-bin",
    ),
    pytest.param(
        lambda base: long_shared_string(base, 60 * 1024 * 1024, 60),
        "file_too_large",
        id="long-shared-string",
    ),
    pytest.param(lambda base: wide_row(base, 20_000_000), "file_too_large", id="wide-row"),
]


def hostile_base() -> bytes:
    """A roster in the shape the builders expect (their sheet is xl/worksheets/sheet1.xml)."""
    out = io.BytesIO()
    write_roster(out, [person(1), person(2)])
    return out.getvalue()


@pytest.mark.parametrize(("build", "code"), HOSTILE)
def test_a_hostile_upload_is_refused_with_its_finding(
    client, world, journey, monkeypatch, build, code
):
    # The worker reads in a limited child process: reading in its own would fail the test.
    import plans.engine.roster

    def not_here(*args, **kwargs):
        raise AssertionError("the workbook was read in the worker's own process")

    monkeypatch.setattr(plans.engine.roster, "read_table", not_here)
    journey(upload, client, build(hostile_base()))
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.status == Roster.Status.REFUSED
    finding = roster.findings.get()
    assert (finding.code, finding.level, finding.row) == (code, "error", None)
    assert roster.problem == finding.message
    assert not roster.file  # nothing of the file is kept
    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert finding.message in page

    # The clerk uploads a corrected file: the same draft is checked as usual.
    journey(upload, client, workbook(good_rows(3)))
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and roster.rows_valid == 3


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", BROKERS[:1], indirect=True)
def test_a_real_worker_refuses_hostile_uploads_and_checks_the_next_roster(client, world, worker):
    plans_load_catalog()
    world.unit_a.headcount = 3
    world.unit_a.save()
    client.force_login(world.clerk_a)
    base = hostile_base()
    for param in HOSTILE:
        build, code = param.values
        assert upload(client, build(base)).status_code == 302
        roster = Roster.objects.get(union=world.unit_a)
        roster = wait_for(roster, until=lambda r: r.status == "refused", worker=worker)
        assert roster.findings.get().code == code, param.id
        assert not roster.file
        assert worker.poll() is None, "the worker stopped"

    assert upload(client, workbook(good_rows(3))).status_code == 302
    roster = wait_for(
        Roster.objects.get(union=world.unit_a),
        until=lambda r: r.status == "checked" and r.annotated,
        worker=worker,
    )
    assert roster.rows_valid == 3 and roster.error_count == 0
    assert worker.poll() is None


def test_references_that_would_be_copied_are_checked_and_annotated_in_bounds(
    client, world, journey
):
    # A 200 KB shared string in 2,000 name cells: 400 MB of copies for the fast reader, so the
    # streaming reader (one shared copy) reads it; not refused, and the clerk gets the usual
    # findings and the marked-up workbook.
    journey(upload, client, long_shared_string(hostile_base(), 200 * 1024, 2000))
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.status == Roster.Status.CHECKED
    assert (roster.rows_total, roster.rows_valid) == (2002, 2)
    longest = max(len(f.message) for f in roster.findings.all())
    assert longest < 1000  # values are cut before they are quoted
    assert roster.annotated


@pytest.mark.parametrize(("build", "code"), HOSTILE)
def test_a_hostile_sample_on_the_plan_trial_page_is_refused(
    client, world, monkeypatch, build, code
):
    # The plan admin's "try the draft" reads an uploaded sample roster inside a web request:
    # in a limited child process too, so the web worker cannot be taken down by it.
    import plans.engine.roster

    plans_load_catalog()
    client.force_login(world.plan_admin)
    plan = "jilin-allowance-2020"
    assert client.post(reverse("plans:version_copy", args=[plan])).status_code == 302

    def not_here(*args, **kwargs):
        raise AssertionError("the workbook was read in the web process")

    monkeypatch.setattr(plans.engine.roster, "read_table", not_here)
    sample = io.BytesIO(build(hostile_base()))
    sample.name = "sample.xlsx"
    tried = client.post(
        reverse("plans:version_try", args=[plan, 2]),
        {"coverage_start": "2025-01-01", "roster": sample},
    )
    assert tried.status_code == 200
    text = tried.content.decode()
    expected = {
        "file_corrupt": "工作表存放在图片或二进制数据的位置",
        "file_too_large": "文件展开后的内容超出了参保名单可能的大小",
    }[code]
    assert expected in text
