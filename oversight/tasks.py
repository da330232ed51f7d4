"""Background work of oversight: the nightly purge (Celery beat, see settings)."""

from celery import shared_task

from oversight import retention


@shared_task(acks_late=True, max_retries=3)
def purge_personal_data() -> dict[str, int]:
    """The nightly purge of what must not be kept; safe to run twice."""
    result = retention.purge_personal_data()
    return {
        "drafts": result.drafts,
        "roster_files": result.roster_files,
        "claim_documents": result.claim_documents,
        "notice_bundles": result.notice_bundles,
    }
