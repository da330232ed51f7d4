"""What the audit log keeps about the enrollment app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit


def register() -> None:
    from enrollment.models import Enrollment, Roster

    audit.register(
        Enrollment,
        audit.Spec(
            type="enrollment",
            created=("plan_version", "roster", "shares", "fee", "status"),
            label=lambda e: f"#{e.pk} · {e.coverage_start:%Y-%m-%d}",
            union_id=audit.attr("union_id"),
            trail=audit.trail("member", "member_id"),
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        Roster,
        audit.Spec(
            type="roster",
            created=("original_name", "plan_version", "coverage_start"),
            label=lambda r: f"#{r.pk} {r.original_name}",
            union_id=audit.attr("union_id"),
            trail=audit.trail("roster"),
            hidden=frozenset({"renewal", "funding"}),
            ignored=audit.BOOKKEEPING
            | {
                "check_token",
                "rows_total",
                "rows_checked",
                "rows_valid",
                "error_count",
                "warning_count",
                "sheet_name",
                "header_row",
                "checked_at",
                "file_size",
            },
        ),
    )
