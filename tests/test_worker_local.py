"""The default, service-free setup runs tasks in a real Celery worker process.

No Redis: the web side drops the message in the data folder (kombu's file-system transport) and
a separately started `celery worker` picks it up and does the work against the same database.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import datetime
from django.utils import timezone
from enrollment.models import Roster
from organisation.models import Union, User
from plans.models import PlanVersion
unit = Union.objects.filter(level="grassroots").first()
roster = Roster.objects.create(
    union=unit, plan_version=PlanVersion.objects.first(),
    coverage_start=datetime.date(2026, 1, 1), coverage_end=datetime.date(2026, 12, 31),
    status="checked", created_by=User.objects.get(username="clerk"))
Roster.objects.filter(pk=roster.pk).update(
    updated_at=timezone.now() - datetime.timedelta(days=90))
print(roster.pk)
"""


@pytest.mark.celery_worker
def test_a_task_sent_without_redis_runs_in_a_separate_worker_process(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DATA_DIR": str(tmp_path),
            "DEBUG": "true",
            "PORTAL_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
            "LOG_LEVEL": "WARNING",
        }
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    manage("migrate", "-v0")
    manage("load_plans")
    manage("load_demo")
    roster_pk = manage("shell", "-c", SETUP)
    exists = (
        "from enrollment.models import Roster; "
        f"print(Roster.objects.filter(pk={roster_pk}).exists())"
    )
    assert manage("shell", "-c", exists) == "True"

    worker = subprocess.Popen(
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
    try:
        manage(
            "shell",
            "-c",
            "from enrollment.tasks import roster_drafts_purge; roster_drafts_purge.delay()",
        )
        deadline = time.monotonic() + 60
        while manage("shell", "-c", exists) == "True":
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() < deadline, "the worker did not run the task in 60 s"
            time.sleep(0.5)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert "roster_drafts_purge" in output and "succeeded" in output
