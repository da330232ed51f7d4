"""What the portal must not keep, deleted on a schedule (Celery beat, nightly) or by
``manage.py purge_personal_data``.

* Roster drafts nobody submitted, with their uploaded workbooks (ROSTER_DRAFT_RETENTION_DAYS).
* The uploaded and annotated workbooks of rosters that are closed (paid or withdrawn): they hold
  every ID number in clear, and once the people are enrolled the database holds what is needed
  (ROSTER_FILE_RETENTION_DAYS). Fee notices and certificate lists, which show IDs masked, stay.
* The documents of closed claims (paid, rejected or withdrawn): medical records and bank details
  (CLAIM_DOCUMENT_RETENTION_DAYS). The claim, its decision and its notice stay.
* Bundles of decision notices made for printing, which can be made again at any time
  (NOTICE_BUNDLE_RETENTION_DAYS).

Each step commits per record and deletes files only after its commit, so a purge that stops
halfway leaves every row consistent with the files on disk. Every deletion is in the audit log.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from enrollment.models import Roster
from enrollment.services import roster_drafts_purge
from mutualaid.auditlog import audit

CLOSED_ROSTER = (Roster.Status.PAID, Roster.Status.WITHDRAWN)


@dataclass(frozen=True)
class PurgeResult:
    drafts: int
    roster_files: int
    claim_documents: int
    notice_bundles: int


def _delete_after_commit(storage, names: list[str]) -> None:
    for name in names:
        if name:
            transaction.on_commit(lambda name=name: storage.delete(name))


def roster_files_purge(*, older_than_days: int, now: datetime.datetime | None = None) -> int:
    """Delete the workbooks of rosters closed more than ``older_than_days`` ago."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
    closed = Roster.objects.filter(status__in=CLOSED_ROSTER, updated_at__lt=cutoff).filter(
        ~Q(file="") | ~Q(annotated="")
    )
    purged = 0
    for pk in closed.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            roster = Roster.objects.select_for_update().get(pk=pk)
            names = [roster.file.name, roster.annotated.name]
            if not any(names):
                continue
            Roster.objects.filter(pk=pk).update(file="", annotated="")
            audit.record(
                audit.Action.PURGE,
                obj=roster,
                note="roster_files_purged",
                params={"days": older_than_days},
            )
            _delete_after_commit(Roster.file.field.storage, names)
        purged += 1
    return purged


def claim_documents_purge(*, older_than_days: int, now: datetime.datetime | None = None) -> int:
    """Delete the document files of claims closed more than ``older_than_days`` ago; returns
    how many documents were deleted. The document rows stay, emptied, as the record that
    the claim had them."""
    from claims.models import Claim, ClaimDocument

    cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
    closed = (
        Claim.objects.filter(
            status__in=[Claim.Status.PAID, Claim.Status.REJECTED, Claim.Status.WITHDRAWN]
        )
        .annotate(closed_at=Coalesce("paid_at", "decided_at", "reported_at"))
        .filter(closed_at__lt=cutoff)
        .filter(documents__isnull=False)
        .exclude(documents__file="")
        .distinct()
    )
    purged = 0
    for claim in closed.only("pk", "number", "union_id").iterator():
        with transaction.atomic():
            documents = list(
                ClaimDocument.objects.select_for_update().filter(claim=claim).exclude(file="")
            )
            if not documents:
                continue
            names = [d.file.name for d in documents]
            ClaimDocument.objects.filter(pk__in=[d.pk for d in documents]).update(file="")
            audit.record(
                audit.Action.PURGE,
                obj=claim,
                object_type="claim_document",
                count=len(documents),
                note="documents_purged",
                params={"days": older_than_days},
            )
            _delete_after_commit(ClaimDocument.file.field.storage, names)
        purged += len(documents)
    return purged


def notice_bundles_purge(*, older_than_days: int, now: datetime.datetime | None = None) -> int:
    from claims.models import NoticeBundle

    cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
    old = NoticeBundle.objects.filter(created_at__lt=cutoff)
    purged = 0
    for bundle in old.iterator():
        with transaction.atomic():
            name = bundle.file.name if bundle.file else ""
            union_id, pk = bundle.union_id, bundle.pk
            bundle.delete()
            audit.record(
                audit.Action.PURGE,
                object_type="notice_bundle",
                object_id=pk,
                label=f"#{pk}",
                union_id=union_id,
                note="bundles_purged",
                params={"days": older_than_days},
            )
            _delete_after_commit(NoticeBundle.file.field.storage, [name])
        purged += 1
    return purged


def purge_personal_data(*, now: datetime.datetime | None = None) -> PurgeResult:
    """Every step above, with the retention periods from settings."""
    drafts = roster_drafts_purge(older_than_days=settings.ROSTER_DRAFT_RETENTION_DAYS, now=now)
    if drafts:
        audit.record_bulk(
            object_type="roster",
            count=drafts,
            note="drafts_purged",
            params={"days": settings.ROSTER_DRAFT_RETENTION_DAYS},
        )
    return PurgeResult(
        drafts=drafts,
        roster_files=roster_files_purge(
            older_than_days=settings.ROSTER_FILE_RETENTION_DAYS, now=now
        ),
        claim_documents=claim_documents_purge(
            older_than_days=settings.CLAIM_DOCUMENT_RETENTION_DAYS, now=now
        ),
        notice_bundles=notice_bundles_purge(
            older_than_days=settings.NOTICE_BUNDLE_RETENTION_DAYS, now=now
        ),
    )
