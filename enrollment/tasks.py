"""Background work of the enrollment app. Tasks take ids and call services; a task that runs
twice (a worker died and the message came back) does no harm, because every service checks
the roster's state and token under a lock first."""

from celery import shared_task
from django.conf import settings

from enrollment import rosters, services

RETRY = {"autoretry_for": (ConnectionError,), "max_retries": 3, "retry_backoff": True}


@shared_task(acks_late=True, **RETRY)
def roster_check(roster_id: int, token: str) -> None:
    rosters.roster_check_run(roster_id=roster_id, token=token)


@shared_task(acks_late=True, **RETRY)
def roster_import(roster_id: int, token: str, actor_id: int | None) -> None:
    rosters.roster_import_run(roster_id=roster_id, token=token, actor_id=actor_id)


@shared_task(acks_late=True, **RETRY)
def roster_fee_notice(roster_id: int) -> None:
    rosters.roster_fee_notice_make(roster_id=roster_id)


@shared_task(acks_late=True, **RETRY)
def roster_certificates(roster_id: int) -> None:
    rosters.roster_certificates_make(roster_id=roster_id)


@shared_task(acks_late=True, max_retries=3)
def roster_drafts_purge() -> int:
    return services.roster_drafts_purge(older_than_days=settings.ROSTER_DRAFT_RETENTION_DAYS)


# Failure hooks: the outbox calls these (by name, "<task>_failed") when the task's job fails for
# good, with the same arguments.


def roster_check_failed(roster_id: int, token: str) -> None:
    rosters.roster_check_failed(roster_id=roster_id, token=token)


def roster_import_failed(roster_id: int, token: str, actor_id: int | None) -> None:
    rosters.roster_import_failed(roster_id=roster_id, token=token, actor_id=actor_id)
