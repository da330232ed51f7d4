"""The outbox's own tasks, here so that Celery's autodiscovery registers them: running a recorded
job, and the sweeper that beat runs every minute (both defined in jobs.py)."""

from mutualaid.outbox.jobs import run_job, sweep_jobs

__all__ = ["run_job", "sweep_jobs"]
