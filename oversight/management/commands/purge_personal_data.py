"""Delete what the portal must not keep: old roster drafts, the workbooks of closed rosters, the
documents of long-closed claims and old print bundles. Runs nightly under Celery beat; this
command runs the same purge at once (for a cron job without beat, or after changing a
retention period)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from mutualaid.auditlog import audit
from oversight import retention


class Command(BaseCommand):
    help = (
        "Delete roster drafts, roster workbooks, claim documents and print bundles past retention."
    )

    def handle(self, *args, **options) -> None:
        with audit.acting(None, audit.Source.COMMAND):
            result = retention.purge_personal_data()
        lines = (
            ("Roster drafts deleted", result.drafts, settings.ROSTER_DRAFT_RETENTION_DAYS),
            ("Roster workbooks deleted", result.roster_files, settings.ROSTER_FILE_RETENTION_DAYS),
            (
                "Claim documents deleted",
                result.claim_documents,
                settings.CLAIM_DOCUMENT_RETENTION_DAYS,
            ),
            (
                "Notice bundles deleted",
                result.notice_bundles,
                settings.NOTICE_BUNDLE_RETENTION_DAYS,
            ),
        )
        for label, count, days in lines:
            self.stdout.write(f"{label}: {count} (kept {days} days)")
