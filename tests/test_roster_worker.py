"""The roster journey with a real Celery worker process, not eager tasks.

By default the worker listens on the file-system broker (no Redis needed). When
PORTAL_TEST_REDIS_URL names a Redis (CI sets redis://127.0.0.1:6379/15), the same journey runs
once more through Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from enrollment.models import Enrollment, Roster
from mutualaid.celery import app as celery_app
from plans.services import plans_load_catalog
from tests.test_roster_journey import good_rows, upload, workbook

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")

BROKERS = [
    pytest.param("filesystem://", id="filesystem"),
    pytest.param(
        REDIS_URL,
        id="redis",
        marks=pytest.mark.skipif(not REDIS_URL, reason="PORTAL_TEST_REDIS_URL is not set"),
    ),
]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(request):
    broker = request.param
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
            "PORTAL_IGNORE_DOTENV": "1",
            "DEBUG": "true",
            "DATABASE_URL": _database_url(),
            "DATA_DIR": str(settings.DATA_DIR),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    if broker.startswith("redis://"):
        import redis

        redis.Redis.from_url(broker).flushdb()
    else:
        empty_file_broker()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mutualaid",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=broker)
    _fresh_pool()
    try:
        yield process
    finally:
        celery_app.conf.update(saved)
        _fresh_pool()
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output[-5000:])


def empty_file_broker() -> None:
    """Drop the messages earlier tests left in the file-system broker (a beat's sweeps, tasks
    of a worker that was killed), so this test's worker starts on its own messages only."""
    queue = settings.DATA_DIR / "broker" / "queue"
    for message in queue.glob("*") if queue.is_dir() else ():
        message.unlink(missing_ok=True)


def _fresh_pool() -> None:
    """Forget the app's cached broker connections so the next send uses the current broker.

    The old pool is left open rather than closed: code elsewhere may still hold it, and a
    closed pool fails every later send in this process."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def wait_for(roster: Roster, *, until, worker, seconds: int = 90) -> Roster:
    deadline = time.monotonic() + seconds
    while True:
        roster.refresh_from_db()
        if until(roster):
            return roster
        if worker.poll() is not None:
            pytest.fail("the worker stopped:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            pytest.fail(f"still {roster.status} after {seconds} s")
        time.sleep(0.3)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", BROKERS, indirect=True)
def test_roster_journey_with_a_real_worker(client, world, worker):
    plans_load_catalog()
    world.unit_a.headcount = 3
    world.unit_a.save()
    client.force_login(world.clerk_a)

    response = upload(client, workbook(good_rows(3)))
    roster = Roster.objects.get(union=world.unit_a)
    assert response.status_code == 302
    progress = client.get(reverse("enrollment:roster_progress", args=[roster.pk]))
    assert progress.status_code == 200
    roster = wait_for(roster, until=lambda r: r.status == "checked" and r.annotated, worker=worker)
    assert roster.rows_valid == 3 and roster.error_count == 0
    done = client.get(reverse("enrollment:roster_progress", args=[roster.pk]))
    assert done["HX-Refresh"] == "true"

    client.post(
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster = wait_for(roster, until=lambda r: r.status == "submitted", worker=worker)
    client.force_login(world.office_staff)
    client.post(
        reverse("enrollment:roster_approve", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster = wait_for(roster, until=lambda r: bool(r.fee_notice), worker=worker)
    # The unit's 240.00 and the subsidy giver's 90.00, each confirmed.
    for payer, amount, reference in (
        ("unit", "240.00", "BANK-9"),
        ("subsidy:吉林省直机关工会", "90.00", "BANK-10"),
    ):
        client.post(
            reverse("enrollment:roster_payment", args=[roster.pk]),
            {
                "payer": payer,
                "amount": amount,
                "received_on": "2025-12-01",
                "reference": reference,
                "confirmed": "yes",
            },
        )
    roster = wait_for(roster, until=lambda r: bool(r.certificates), worker=worker)
    assert roster.status == Roster.Status.PAID
    assert Enrollment.objects.filter(roster=roster, status="active").count() == 3
