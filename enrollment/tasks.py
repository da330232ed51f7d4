"""Background work of the enrollment app. Tasks take ids or nothing, and call services."""

from celery import shared_task
from django.conf import settings

from enrollment import services


@shared_task(acks_late=True, max_retries=3)
def roster_drafts_purge() -> int:
    return services.roster_drafts_purge(older_than_days=settings.ROSTER_DRAFT_RETENTION_DAYS)
