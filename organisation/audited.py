"""What the audit log keeps about the organisation app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit
from plans.engine.identity import mask_bank_card, mask_id_number, mask_phone


def register() -> None:
    from organisation.models import HeadcountProposal, Member, Union, User

    audit.register(
        Member,
        audit.Spec(
            type="member",
            created=("name", "union", "employment_type"),
            label=lambda m: f"{m.name} {mask_id_number(m.id_number)}",
            union_id=audit.attr("union_id"),
            trail=audit.trail("member"),
            masked={
                "id_number": mask_id_number,
                "bank_card": mask_bank_card,
                "phone": mask_phone,
            },
            ignored=audit.BOOKKEEPING | {"id_number_digest"},
        ),
    )
    audit.register(
        User,
        audit.Spec(
            type="user",
            created=("role", "union", "is_staff", "is_superuser", "is_active"),
            label=lambda u: u.get_username(),
            union_id=audit.attr("union_id"),
            trail=audit.trail("user"),
            masked={"phone": mask_phone},
            hidden=frozenset({"password"}),
            ignored=audit.BOOKKEEPING | {"last_login"},
        ),
    )
    audit.register(
        Union,
        audit.Spec(
            type="union",
            created=("name", "level", "parent", "headcount"),
            label=lambda u: u.name,
            union_id=audit.attr("pk"),
            trail=audit.trail("union"),
            ignored=audit.BOOKKEEPING | {"path"},
        ),
    )
    audit.register(
        HeadcountProposal,
        audit.Spec(
            type="headcount_proposal",
            created=("union", "headcount", "previous", "note", "status"),
            label=lambda p: f"{p.union} · {p.headcount}",
            union_id=audit.attr("union_id"),
            trail=audit.trail("union", "union_id"),
            ignored=audit.BOOKKEEPING | {"proposed_at"},
        ),
    )
