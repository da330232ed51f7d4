"""What the audit log keeps about the enrollment app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit


def register() -> None:
    from enrollment.models import (
        Enrollment,
        OfficeBankAccount,
        Receipt,
        Roster,
        SubsidyStatement,
    )

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
            display_label=lambda r: (
                f"#{r.pk} · {r.union.name} · {r.plan_version.display_name} · {r.original_name}"
            ),
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
    # Money received and where it is received: every receipt, statement and change of the
    # office's bank account is in the log, with who did it.
    audit.register(
        Receipt,
        audit.Spec(
            type="receipt",
            created=("roster", "statement", "payer", "giver", "amount", "received_on", "reference"),
            label=lambda r: f"{r.reference} · {r.amount}",
            union_id=lambda r: r.roster.union_id if r.roster_id else r.office_id,
            trail=lambda r: (
                f"roster:{r.roster_id}" if r.roster_id else f"statement:{r.statement_id}"
            ),
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        SubsidyStatement,
        audit.Spec(
            type="subsidy_statement",
            created=("giver", "period_start", "period_end", "total"),
            label=lambda s: f"{s.number} · {s.giver}",
            union_id=audit.attr("office_id"),
            trail=audit.trail("statement"),
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        OfficeBankAccount,
        audit.Spec(
            type="office_bank_account",
            created=("account_name", "bank_name", "account_number"),
            label=lambda a: f"{a.account_name} · {a.bank_name}",
            union_id=audit.attr("office_id"),
            trail=audit.trail("bank_account", "office_id"),
            ignored=audit.BOOKKEEPING | {"updated_by"},
        ),
    )
