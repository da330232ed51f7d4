"""What the audit log keeps about the claims app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit
from plans.engine.identity import mask_bank_card


def register() -> None:
    from claims.models import Claim, ClaimDocument, PaymentBatch, Payout, Transfer

    audit.register(
        Claim,
        audit.Spec(
            type="claim",
            created=("benefit", "event_date", "payee_name", "payee_account"),
            label=lambda c: c.number,
            union_id=audit.attr("union_id"),
            trail=audit.trail("claim"),
            masked={"payee_account": mask_bank_card},
            hidden=frozenset({"facts", "proposal", "reject_reasons"}),
            ignored=audit.BOOKKEEPING | {"reported_at"},
        ),
    )
    audit.register(
        ClaimDocument,
        audit.Spec(
            type="claim_document",
            created=("requirement", "size"),
            label=lambda d: f"{d.claim.number} · {d.requirement}",
            union_id=lambda d: d.claim.union_id,
            trail=audit.trail("claim", "claim_id"),
            hidden=frozenset({"original_name"}),
            ignored=audit.BOOKKEEPING | {"uploaded_at"},
        ),
    )
    audit.register(
        Payout,
        audit.Spec(
            type="payout",
            created=("kind", "amount", "payee_name", "payee_account"),
            label=lambda p: f"{p.claim.number} · {p.kind} · {p.amount}",
            union_id=lambda p: p.claim.union_id,
            trail=audit.trail("claim", "claim_id"),
            masked={"payee_account": mask_bank_card},
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        PaymentBatch,
        audit.Spec(
            type="payment_batch",
            created=("total",),
            label=lambda b: b.number,
            union_id=audit.attr("office_id"),
            trail=audit.trail("batch"),
            ignored=audit.BOOKKEEPING,
        ),
    )
    audit.register(
        Transfer,
        audit.Spec(
            type="transfer",
            created=("amount", "payee_name", "payee_account"),
            label=lambda t: f"{t.batch.number} · {t.payout.claim.number} · {t.amount}",
            union_id=lambda t: t.payout.claim.union_id,
            trail=lambda t: f"claim:{t.payout.claim_id}",
            masked={"payee_account": mask_bank_card},
            ignored=audit.BOOKKEEPING | {"returned_at"},
        ),
    )
