"""The purge of what must not be kept: roster drafts, the workbooks of closed rosters, the
documents of long-closed claims and old print bundles, each deletion in the audit log."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimDocument, NoticeBundle
from enrollment.models import Roster
from mutualaid.auditlog.models import AuditEntry
from oversight import retention
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LATER = datetime.timedelta(days=400)


def _roster(world, status, *, files=True) -> Roster:
    paid = {"payment_amount": "0.00"} if status == Roster.Status.PAID else {}
    roster = factories.RosterFactory(
        union=world.unit_a, created_by=world.clerk_a, status=status, **paid
    )
    if files:
        roster.file.save("upload.xlsx", ContentFile(b"PK\x03\x04 ids"), save=False)
        roster.annotated.save("annotated.xlsx", ContentFile(b"PK\x03\x04 ids"), save=False)
        roster.fee_notice.save("fee.pdf", ContentFile(PDF), save=False)
    roster.save()
    return roster


def _claim_with_document(world, status) -> tuple[Claim, ClaimDocument]:
    enrollment = factories.enroll(world.member_a)
    claim = factories.ClaimFactory(
        enrollment=enrollment,
        reported_by=world.clerk_a,
        status=status,
        approved_amount="100.00" if status == Claim.Status.PAID else None,
        decided_at=timezone.now(),
        paid_at=timezone.now() if status == Claim.Status.PAID else None,
    )
    document = ClaimDocument(
        claim=claim,
        requirement="invoice",
        original_name="发票.pdf",
        content_type=ClaimDocument.Kind.PDF,
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        uploaded_by=world.clerk_a,
    )
    document.file.save("document", ContentFile(PDF), save=False)
    document.save()
    return claim, document


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def test_workbooks_of_closed_rosters_are_deleted_after_the_retention_period(world, run):
    closed = _roster(world, Roster.Status.PAID)
    open_ = _roster(world, Roster.Status.SUBMITTED)
    storage = Roster.file.field.storage
    upload_name, annotated_name = closed.file.name, closed.annotated.name

    # Not yet: closed today.
    assert run(retention.roster_files_purge, older_than_days=180) == 0
    assert storage.exists(upload_name)

    purged = run(retention.roster_files_purge, older_than_days=180, now=timezone.now() + LATER)
    assert purged == 1
    closed.refresh_from_db()
    assert not closed.file and not closed.annotated and closed.fee_notice  # masked notice kept
    assert not storage.exists(upload_name) and not storage.exists(annotated_name)
    open_.refresh_from_db()
    assert open_.file and storage.exists(open_.file.name)  # a roster still open keeps its file
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PURGE)
    assert entry.trail == f"roster:{closed.pk}" and entry.params == {"days": 180}

    # Running again finds nothing more to do.
    assert run(retention.roster_files_purge, older_than_days=180, now=timezone.now() + LATER) == 0


def test_documents_of_closed_claims_are_deleted_and_the_page_says_so(client, world, run):
    paid, document = _claim_with_document(world, Claim.Status.PAID)
    storage = ClaimDocument.file.field.storage
    name = document.file.name
    later = timezone.now() + datetime.timedelta(days=2000)
    assert run(retention.claim_documents_purge, older_than_days=1825, now=later) == 1
    document.refresh_from_db()
    assert not document.file and not storage.exists(name)
    assert document.original_name == "发票.pdf"  # the record that it existed stays

    client.force_login(world.office_staff)
    page = client.get(reverse("claims:claim_detail", args=[paid.pk])).content.decode()
    assert "发票.pdf" in page
    download = reverse("claims:claim_document_download", args=[paid.pk, document.pk])
    assert download not in page
    assert client.get(download).status_code == 404
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PURGE)
    assert entry.trail == f"claim:{paid.pk}" and entry.object_type == "claim_document"


def test_documents_of_open_claims_are_kept(world, run):
    _claim, document = _claim_with_document(world, Claim.Status.REVIEWING)
    later = timezone.now() + datetime.timedelta(days=4000)
    assert run(retention.claim_documents_purge, older_than_days=1825, now=later) == 0
    document.refresh_from_db()
    assert document.file


def test_old_notice_bundles_are_deleted(world, run):
    bundle = NoticeBundle.objects.create(
        created_by=world.office_staff, union=world.office, status=NoticeBundle.Status.READY
    )
    bundle.file.save("bundle.pdf", ContentFile(PDF), save=True)
    name = bundle.file.name
    assert run(retention.notice_bundles_purge, older_than_days=30) == 0
    later = timezone.now() + datetime.timedelta(days=31)
    assert run(retention.notice_bundles_purge, older_than_days=30, now=later) == 1
    assert not NoticeBundle.objects.exists()
    assert not NoticeBundle.file.field.storage.exists(name)


@override_settings(
    ROSTER_DRAFT_RETENTION_DAYS=1,
    ROSTER_FILE_RETENTION_DAYS=1,
    CLAIM_DOCUMENT_RETENTION_DAYS=1,
    NOTICE_BUNDLE_RETENTION_DAYS=1,
)
def test_the_command_purges_everything_due_and_reports_counts(world, run):
    draft = _roster(world, Roster.Status.CHECKED)
    closed = _roster(world, Roster.Status.WITHDRAWN)
    past = timezone.now() - datetime.timedelta(days=3)
    Roster.objects.filter(pk__in=[draft.pk, closed.pk]).update(updated_at=past)
    out = io.StringIO()
    run(call_command, "purge_personal_data", stdout=out)
    text = out.getvalue()
    assert "Roster drafts deleted: 1" in text and "Roster workbooks deleted: 1" in text
    assert not Roster.objects.filter(pk=draft.pk).exists()
    assert Roster.objects.get(pk=closed.pk).file.name == ""
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.PURGE, source=AuditEntry.Source.COMMAND
    ).exists()


def test_the_purge_is_scheduled_nightly():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["purge-personal-data"]
    assert entry["task"] == "oversight.tasks.purge_personal_data"
    from oversight import tasks

    assert tasks.purge_personal_data.name == entry["task"]
