"""The one seam between services and background tasks, and what makes background work durable.

Services decide that work is to be done; tasks do it by calling services. So that the two never
import each other, a service names the task ("enrollment.tasks.roster_check") and calls
:func:`enqueue`. That writes a :class:`Job` row in the service's own transaction (a
transactional outbox) and, once the transaction commits, queues one Celery message, ``run_job``,
that carries only the row's id. So:

* **The broker is down.** The change is saved with its job; sending fails quietly (the page says
  the work will continue), and the sweeper sends the job again once the broker answers.
* **The worker dies** (killed, host restarted). A running job writes a heartbeat; the sweeper
  finds a job whose heartbeat stopped and sends it again. Work is idempotent (each service checks
  its record's state and token under a lock), so a run that did commit is not repeated.
* **The same input kills the worker again.** A job that has died twice is not run a third
  time: it fails, and its task's failure hook (``<task>_failed``, if the task module has one)
  puts the record into a state the user can see and act on.
* **The task raises.** It is tried again later, up to three runs; then it fails. Office staff
  see failed work on the *Background work* page and may retry it.

The sweeper (:func:`sweep`) runs every ``JOB_SWEEP_SECONDS`` from Celery beat.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import threading
from contextvars import ContextVar

from celery import shared_task
from django.conf import settings
from django.contrib import messages
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mutualaid.outbox.models import Job

log = logging.getLogger(__name__)
State = Job.State

MAX_RUNS = 3  # a task that raises is tried this many times in all
MAX_DEATHS = 2  # a job whose worker died this many times is not run again
# A send gives up quickly when the broker does not answer: the job is on record and the
# sweeper sends it later, so the clerk's page need not wait.
SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}

_request: ContextVar[object | None] = ContextVar("outbox_request", default=None)


def task_named(name: str):
    """The Celery task object registered under ``name`` (its module path and function)."""
    module, _sep, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)


def _hook(name: str):
    try:
        return task_named(f"{name}_failed")
    except (ImportError, AttributeError):
        return None


def enqueue(name: str, *args: object, subject: str = "", union_id: int | None = None) -> Job:
    """Record the task ``name`` with ``args`` in the current transaction; queue it on commit."""
    job = Job.objects.create(name=name, args=list(args), subject=subject, union_id=union_id)
    request = _request.get()
    transaction.on_commit(lambda: _send_after_commit(job.pk, request))
    return job


def _send_after_commit(job_id: int, request) -> None:
    if not send(job_id) and request is not None:
        messages.info(
            request,
            _(
                "Saved. The background work for it has not started yet; it will continue "
                "by itself shortly, and this page shows its progress."
            ),
        )


def _eager() -> bool:
    return bool(run_job.app.conf.task_always_eager)


def send(job_id: int) -> bool:
    """Queue one run of the job. False when the broker cannot be reached (the job waits)."""
    marked = Job.objects.filter(pk=job_id, state__in=[State.PENDING, State.SENT]).update(
        state=State.SENT, sent_at=timezone.now()
    )
    if not marked:
        return True  # running, done or failed meanwhile: nothing to send
    if _eager():
        run_job.apply_async((job_id,))
        return True
    try:
        run_job.apply_async((job_id,), retry=True, retry_policy=SEND_RETRY)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the job stays on record
        log.warning("Broker unreachable; job %s waits for the sweeper: %s", job_id, exc)
        Job.objects.filter(pk=job_id, state=State.SENT).update(state=State.PENDING)
        return False
    return True


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.JOB_STALE_SECONDS)


def _claim(job_id: int) -> Job | None:
    """Mark the job running, in a transaction of its own; None when it must not run now."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (State.DONE, State.FAILED):
            return None
        if job.state == State.RUNNING:
            if job.heartbeat_at and job.heartbeat_at >= _stale_before():
                return None  # another worker is on it
            job.deaths += 1
        if job.deaths >= MAX_DEATHS:
            _fail(job, _("The work stopped its worker twice and was not tried again."))
            return None
        now = timezone.now()
        job.state = State.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.save(update_fields=["state", "attempts", "deaths", "started_at", "heartbeat_at"])
        return job


def _fail(job: Job, reason: str) -> None:
    job.state = State.FAILED
    job.finished_at = timezone.now()
    job.error = reason[:300]
    job.save(update_fields=["state", "deaths", "finished_at", "error"])
    hook = _hook(job.name)
    if hook is not None:
        # The record the work was for goes into a state its users can see and act on.
        transaction.on_commit(lambda: hook(*job.args))


class _Heartbeat(threading.Thread):
    """Writes the running job's heartbeat every JOB_HEARTBEAT_SECONDS from its own connection,
    so the sweeper can tell a long run from a dead one."""

    def __init__(self, job_id: int):
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=self.job_id, state=State.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception as exc:  # noqa: BLE001 - a busy database: try next beat
                    log.info("Heartbeat of job %s skipped: %s", self.job_id, exc)
                    close_old_connections()
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


@shared_task(acks_late=True, name="mutualaid.outbox.tasks.run_job")
def run_job(job_id: int) -> str:
    """Run one recorded job (at most one worker at a time, at most MAX_RUNS times)."""
    job = _claim(job_id)
    if job is None:
        return "skipped"
    heartbeat = None if _eager() else _Heartbeat(job.pk)
    if heartbeat is not None:
        heartbeat.start()
    try:
        task_named(job.name)(*job.args)
    except Exception as exc:
        log.exception("Job %s (%s) failed on run %s", job.pk, job.name, job.attempts)
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job.pk)
            if job.attempts >= MAX_RUNS:
                _fail(
                    job,
                    _("The work failed %(n)s times: %(problem)s")
                    % {"n": job.attempts, "problem": type(exc).__name__},
                )
            else:
                # Tried again by the sweeper, a little later each time.
                job.state = State.PENDING
                job.heartbeat_at = timezone.now()
                job.error = type(exc).__name__
                job.save(update_fields=["state", "heartbeat_at", "error"])
        if _eager() and settings.CELERY_TASK_EAGER_PROPAGATES:
            raise
        return "failed"
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    Job.objects.filter(pk=job.pk).update(state=State.DONE, finished_at=timezone.now(), error="")
    return "done"


@shared_task(name="mutualaid.outbox.tasks.sweep_jobs")
def sweep_jobs() -> dict[str, int]:
    return sweep()


def sweep() -> dict[str, int]:
    """Send again what waits or was lost; count dead runs. Safe to run anywhere, any time."""
    now = timezone.now()
    stale = _stale_before()
    lost = now - datetime.timedelta(seconds=settings.JOB_SENT_TIMEOUT_SECONDS)
    counts = {"sent": 0, "dead": 0, "failed": 0}
    # Runs whose worker stopped beating: count the death, then send again or fail.
    for job_id in Job.objects.filter(state=State.RUNNING, heartbeat_at__lt=stale).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            job = (
                Job.objects.select_for_update()
                .filter(pk=job_id, state=State.RUNNING, heartbeat_at__lt=stale)
                .first()
            )
            if job is None:
                continue
            job.deaths += 1
            counts["dead"] += 1
            if job.deaths >= MAX_DEATHS:
                _fail(job, _("The work stopped its worker twice and was not tried again."))
                counts["failed"] += 1
                continue
            job.state = State.PENDING
            job.save(update_fields=["state", "deaths"])
    # Waiting (never sent, or to be tried again after a failure: one minute per run so far),
    # and sent long ago but never started (the message was lost with the broker's memory).
    waiting = Job.objects.filter(
        state=State.PENDING, created_at__lt=now - datetime.timedelta(seconds=5)
    ).values_list("pk", "attempts", "heartbeat_at")
    due = [
        pk
        for pk, attempts, last in waiting.order_by("created_at")[:500]
        if last is None or last < now - datetime.timedelta(seconds=60 * attempts)
    ]
    due += Job.objects.filter(state=State.SENT, sent_at__lt=lost).values_list("pk", flat=True)[:500]
    for job_id in due:
        if send(job_id):
            counts["sent"] += 1
        else:
            break  # the broker is still away: try again next sweep
    return counts


def retry(job: Job) -> bool:
    """Office staff's retry of failed work: tried afresh, as if new."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=State.FAILED).update(
            state=State.PENDING,
            attempts=0,
            deaths=0,
            error="",
            finished_at=None,
            heartbeat_at=None,
        )
    return bool(updated) and send(job.pk)


class OutboxMiddleware:
    """Lets :func:`enqueue` tell the person who asked when their work has to wait."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
