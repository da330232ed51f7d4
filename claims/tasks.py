"""Background work for claims: the engine's proposal, decision notices, notice bundles."""

import uuid

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import transaction

from claims import services
from claims.models import Claim, NoticeBundle

RETRY = {"autoretry_for": (ConnectionError,), "max_retries": 3, "retry_backoff": True}


@shared_task(acks_late=True, **RETRY)
def claim_propose(claim_id: int) -> None:
    services.claim_propose_run(claim_id=claim_id)


@shared_task(acks_late=True, **RETRY)
def claim_notice(claim_id: int) -> None:
    from claims.notices import decision_notice_pdf

    claim = Claim.objects.get(pk=claim_id)
    pdf = decision_notice_pdf(claim)
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim_id)
        old = claim.notice.name
        claim.notice.save(f"{uuid.uuid4().hex}.pdf", ContentFile(pdf), save=False)
        claim.save(update_fields=["notice"])
        if old:
            transaction.on_commit(lambda: Claim.notice.field.storage.delete(old))


@shared_task(acks_late=True, **RETRY)
def notice_bundle(bundle_id: int) -> None:
    from claims.notices import decision_notices_pdf

    bundle = NoticeBundle.objects.get(pk=bundle_id)
    claims = bundle.claims.select_related(
        "enrollment__member", "enrollment__plan_version__plan", "union", "decided_by"
    ).order_by("number")
    try:
        pdf = decision_notices_pdf(list(claims))
    except Exception:
        NoticeBundle.objects.filter(pk=bundle_id).update(status=NoticeBundle.Status.FAILED)
        raise
    bundle.file.save(f"{uuid.uuid4().hex}.pdf", ContentFile(pdf), save=False)
    bundle.status = NoticeBundle.Status.READY
    bundle.save(update_fields=["file", "status"])
