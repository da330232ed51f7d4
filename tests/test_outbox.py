"""Background work survives a broker that is down and a worker that dies (mutualaid/outbox).

The broker-down tests point the web side at a Redis port where nothing listens: the page must
answer normally (the change is saved with its job, and the user is told the work will continue),
nothing may be lost, and once the broker answers again the sweeper that beat runs finishes the
work by itself. The worker-kill test (marked celery_worker) SIGKILLs a real worker process in the
middle of a roster import and checks the import completes, exactly once, after a worker and beat
come back.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from enrollment.models import Enrollment, Roster, ShareHolding
from mutualaid.auditlog.models import AuditEntry
from mutualaid.celery import app as celery_app
from mutualaid.outbox import jobs
from mutualaid.outbox.models import Job
from plans.services import plans_load_catalog
from tests.test_claim_journey import add_documents, report
from tests.test_roster_journey import good_rows, upload, workbook
from tests.test_roster_worker import _database_url, _fresh_pool, empty_file_broker

ROOT = Path(__file__).resolve().parent.parent
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@contextmanager
def broker_down():
    """Tasks are really sent (not run inline), to a broker that refuses the connection."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=DEAD_BROKER)
    _fresh_pool()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _fresh_pool()


def broker_back_and_beat_sweeps(run) -> dict:
    """The broker answers again (tasks run inline here) and beat's sweep comes round."""
    Job.objects.filter(state=Job.State.PENDING).update(
        created_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    return run(jobs.sweep)


def test_the_sweep_runs_from_beat_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]
    assert entry["task"] == jobs.sweep_jobs.name == "mutualaid.outbox.tasks.sweep_jobs"
    assert entry["schedule"] == 60.0
    # Redis hands an unacknowledged message back after this: above the longest task, well
    # below an hour.
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        assert settings.CELERY_TASK_TIME_LIMIT < timeout < 3600


@pytest.mark.django_db(transaction=True)
def test_upload_with_the_broker_down_is_saved_and_checked_when_it_is_back(client, world):
    """Committed for real (not inside a test transaction), as on a live server."""
    plans_load_catalog()
    client.force_login(world.clerk_a)

    def run(action, *args, **kwargs):
        return action(*args, **kwargs)

    with broker_down():
        started = time.monotonic()
        response = run(upload, client, workbook(good_rows(3)))
        assert time.monotonic() - started < 10  # the page does not hang on the broker
    assert response.status_code == 302
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.status == Roster.Status.UPLOADED
    job = Job.objects.get(subject=f"roster:{roster.pk}")
    assert job.state == Job.State.PENDING and job.name == "enrollment.tasks.roster_check"
    page = client.get(response["Location"]).content.decode()
    assert "稍后会自动继续" in page  # "it will continue by itself shortly"

    assert broker_back_and_beat_sweeps(run)["sent"] == 1
    roster.refresh_from_db()
    job.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and roster.rows_valid == 3
    assert job.state == Job.State.DONE and job.attempts == 1


def test_submission_with_the_broker_down_enrolls_once_when_it_is_back(
    client, world, django_capture_on_commit_callbacks
):
    plans_load_catalog()
    client.force_login(world.clerk_a)

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    world.unit_a.headcount = 3
    world.unit_a.save()
    run(upload, client, workbook(good_rows(3)))
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.status == Roster.Status.CHECKED and roster.can_submit
    with broker_down():
        response = run(
            client.post,
            reverse("enrollment:roster_submit", args=[roster.pk]),
            {"confirmed": str(roster.check_token)},
        )
    assert response.status_code == 302
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTING
    assert not Enrollment.objects.filter(roster=roster).exists()

    broker_back_and_beat_sweeps(run)
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    assert Enrollment.objects.filter(roster=roster).count() == 3
    # A second sweep (or a late duplicate message) changes nothing.
    Job.objects.filter(subject=f"roster:{roster.pk}").update(state=Job.State.SENT)
    Job.objects.filter(subject=f"roster:{roster.pk}").update(
        sent_at=timezone.now() - datetime.timedelta(hours=1)
    )
    run(jobs.sweep)
    assert Enrollment.objects.filter(roster=roster).count() == 3


def test_decision_with_the_broker_down_gets_its_notice_when_it_is_back(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    add_documents(client, claim, run)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REVIEWING

    client.force_login(world.office_staff)
    with broker_down():
        response = run(
            client.post,
            reverse("claims:claim_decide", args=[claim.pk]),
            {"approve": "pay", "amount": claim.proposal["amount"], "confirmed": "yes"},
        )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED and not claim.notice
    assert Job.objects.get(name="claims.tasks.claim_notice").state == Job.State.PENDING

    broker_back_and_beat_sweeps(run)
    claim.refresh_from_db()
    assert claim.notice


def test_a_run_whose_worker_died_is_sent_again_and_refused_after_two_deaths(
    world, django_capture_on_commit_callbacks, client
):
    """A check whose worker dies twice on the same file ends refused, never retried for ever."""
    plans_load_catalog()
    client.force_login(world.clerk_a)
    with broker_down():
        upload(client, workbook(good_rows(2)))
    roster = Roster.objects.get(union=world.unit_a)
    job = Job.objects.get(subject=f"roster:{roster.pk}")
    long_ago = timezone.now() - datetime.timedelta(hours=1)

    def worker_died_while_running():
        Job.objects.filter(pk=job.pk).update(
            state=Job.State.RUNNING, heartbeat_at=long_ago, attempts=job.attempts + 1
        )

    with broker_down():
        worker_died_while_running()
        first = jobs.sweep()
    job.refresh_from_db()
    assert first["dead"] == 1 and job.deaths == 1 and job.state == Job.State.PENDING

    with broker_down():
        Job.objects.filter(pk=job.pk).update(attempts=2)
        worker_died_while_running()
        with django_capture_on_commit_callbacks(execute=True):
            second = jobs.sweep()
    job.refresh_from_db()
    roster.refresh_from_db()
    assert second["failed"] == 1 and job.state == Job.State.FAILED and job.deaths == 2
    assert roster.status == Roster.Status.REFUSED
    assert roster.findings.get().code == "file_corrupt"
    assert not roster.file  # nothing of the file is kept


def test_a_failed_import_puts_the_roster_back_to_be_submitted_again(
    client, world, django_capture_on_commit_callbacks, monkeypatch
):
    plans_load_catalog()
    client.force_login(world.clerk_a)

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    world.unit_a.headcount = 2
    world.unit_a.save()
    run(upload, client, workbook(good_rows(2)))
    roster = Roster.objects.get(union=world.unit_a)
    assert roster.can_submit
    from enrollment import rosters

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rosters, "roster_import_run", broken)
    monkeypatch.setattr(settings, "CELERY_TASK_EAGER_PROPAGATES", False)
    run(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    job = Job.objects.get(name="enrollment.tasks.roster_import")
    for _attempt in range(2):
        assert job.state == Job.State.PENDING
        Job.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
        )
        broker_back_and_beat_sweeps(run)
        job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.attempts == 3
    roster.refresh_from_db()
    assert roster.status == Roster.Status.CHECKED and roster.can_submit
    assert "系统问题" in roster.problem  # "a system problem"
    assert not Enrollment.objects.filter(roster=roster).exists()


def test_office_staff_retry_failed_work_within_their_scope(client, world, covered):
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    job = Job.objects.create(
        name="claims.tasks.claim_propose",
        args=[claim.pk],
        subject=f"claim:{claim.pk}",
        union_id=claim.union_id,
        state=Job.State.FAILED,
        attempts=3,
        error="OperationalError",
    )
    # A clerk has no such page; another office's staff do not see the job.
    assert client.get(reverse("oversight:background_work")).status_code == 403
    client.force_login(world.other_office_staff)
    page = client.get(reverse("oversight:background_work")).content.decode()
    assert claim.number not in page
    assert (
        run(client.post, reverse("oversight:background_work_retry", args=[job.pk])).status_code
        == 404
    )

    client.force_login(world.office_staff)
    page = client.get(reverse("oversight:background_work")).content.decode()
    assert claim.number in page
    response = run(client.post, reverse("oversight:background_work_retry", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.attempts == 1
    assert AuditEntry.objects.filter(note="job_retried", object_id=str(job.pk)).exists()


# --- a real worker, killed in the middle of an import -----------------------------------------


def many_rows(count: int) -> list[list[object]]:
    """``count`` different valid people (good_rows stops at a thousand)."""
    from plans.engine.identity import id_check_digit

    rows = []
    for i in range(count):
        birth = datetime.date(1975, 1, 1) + datetime.timedelta(days=i // 400)
        first17 = f"220104{birth:%Y%m%d}{i % 400 + 100:03d}"
        name = "张" + chr(0x4E00 + i // 100) + chr(0x4E00 + i % 100)
        rows.append(
            [
                name,
                first17 + id_check_digit(first17),
                f"139{i:08d}",
                "正式职工",
                "是",
                "6222021234567890128",
            ]
        )
    return rows


def _spawn(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mutualaid", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: killed whole, like a host going down
    )


def _kill(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=30)
    return output


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.2)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_import_completes_exactly_once_after_the_whole_worker_is_killed(client, world, tmp_path):
    plans_load_catalog()
    rows = 25000
    world.unit_a.headcount = rows
    world.unit_a.save()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="mutualaid.settings",
        PORTAL_IGNORE_DOTENV="1",
        DEBUG="true",
        DATABASE_URL=_database_url(),
        DATA_DIR=str(settings.DATA_DIR),
        CELERY_BROKER_URL="filesystem://",
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="WARNING",
        JOB_HEARTBEAT_SECONDS="1",
        JOB_STALE_SECONDS="4",
        JOB_SWEEP_SECONDS="1",
    )
    schedule = str(tmp_path / "beat-schedule")
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url="filesystem://")
    _fresh_pool()
    empty_file_broker()
    worker = _spawn(
        "worker",
        "--pool=solo",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "--loglevel=WARNING",
        env=env,
    )
    beat = _spawn("beat", "--schedule", schedule, "--loglevel=WARNING", env=env)
    processes = [worker, beat]
    try:
        client.force_login(world.clerk_a)
        upload(client, workbook(many_rows(rows)))
        roster = Roster.objects.get(union=world.unit_a)

        def checked() -> bool:
            roster.refresh_from_db()
            return roster.status == Roster.Status.CHECKED

        _wait(checked, 240, "the roster was checked")
        assert roster.rows_valid == rows
        client.post(
            reverse("enrollment:roster_submit", args=[roster.pk]),
            {"confirmed": str(roster.check_token)},
        )
        job_query = Job.objects.filter(name="enrollment.tasks.roster_import")

        def importing() -> bool:
            job = job_query.first()
            return job is not None and job.state == Job.State.RUNNING

        _wait(importing, 60, "the import started")
        time.sleep(0.5)  # into re-reading the file, long before the enrollments are written
        # The host goes down: worker and beat, all their processes, at once.
        _kill(worker)
        _kill(beat)
        roster.refresh_from_db()
        assert roster.status == Roster.Status.SUBMITTING, "the import finished before the kill"
        assert not Enrollment.objects.filter(roster=roster).exists()

        # The host comes back.
        back = time.monotonic()
        worker = _spawn(
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            env=env,
        )
        beat = _spawn("beat", "--schedule", schedule, "--loglevel=WARNING", env=env)
        processes = [worker, beat]

        def submitted() -> bool:
            roster.refresh_from_db()
            return roster.status == Roster.Status.SUBMITTED

        _wait(submitted, 300, "the import completed after the worker came back")
        print(f"import completed {time.monotonic() - back:.1f} s after the worker came back")
        _wait(lambda: job_query.get().state == Job.State.DONE, 60, "the job was marked done")
        job = job_query.get()
        assert job.deaths == 1 and job.attempts == 2
        # Exactly once: every person once, one bulk entry in the log.
        assert Enrollment.objects.filter(roster=roster).count() == rows
        assert ShareHolding.objects.filter(member__enrollments__roster=roster).count() == rows
        assert (
            AuditEntry.objects.filter(note="roster_enrolled", params__roster=roster.pk).count() == 1
        )
    finally:
        celery_app.conf.update(saved)
        _fresh_pool()
        for process in processes:
            if process.poll() is None:
                print(_kill(process)[-3000:])
        empty_file_broker()  # its beat's sweeps must not hold up the next test's worker


@override_settings(JOB_STALE_SECONDS=60)
def test_a_job_with_a_fresh_heartbeat_is_left_to_its_worker(world):
    job = Job.objects.create(
        name="claims.tasks.claim_notice",
        args=[1],
        state=Job.State.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
    )
    assert jobs.sweep() == {"sent": 0, "dead": 0, "failed": 0}
    assert jobs.run_job(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.attempts == 1
