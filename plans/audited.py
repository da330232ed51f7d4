"""What the audit log keeps about the plans app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit


def register() -> None:
    from plans.models import Plan, PlanVersion

    audit.register(
        Plan,
        audit.Spec(
            type="plan",
            created=("code", "name", "office"),
            label=lambda p: p.code,
            display_label=lambda p: p.display_name,
            union_id=audit.attr("office_id"),
            trail=audit.trail("plan"),
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        PlanVersion,
        audit.Spec(
            type="plan_version",
            created=("number", "status", "effective_from"),
            label=lambda v: f"{v.plan.code} v{v.number}",
            display_label=lambda v: v.display_name,
            union_id=lambda v: v.plan.office_id,
            trail=audit.trail("plan", "plan_id"),
            hidden=frozenset({"rules"}),
            ignored=audit.BOOKKEEPING,
        ),
    )
