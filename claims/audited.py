"""What the audit log keeps about the claims app's records (called from its ready())."""

from __future__ import annotations

from mutualaid.auditlog import audit
from plans.benefits import BENEFIT_LABELS
from plans.engine.identity import mask_bank_card


def _benefit(code: object, entry=None) -> str:
    return str(BENEFIT_LABELS.get(code, code))


def _document_label(document) -> str:
    """A claim document's name as its plan calls it (出院记录), not its code."""
    claim = document.claim
    benefit = claim.enrollment.plan_version.parsed_rules.benefit(claim.benefit)
    labels = {d.code: d.label for d in benefit.documents} if benefit else {}
    return labels.get(document.requirement, document.requirement)


def _requirement(code: object, entry) -> str:
    from claims.models import ClaimDocument

    document = ClaimDocument.objects.filter(pk=entry.object_id).select_related("claim").first()
    if document is None:
        return str(code)
    return _document_label(document)


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
            values={"benefit": _benefit},
            hidden=frozenset({"facts", "proposal", "reject_reasons"}),
            ignored=audit.BOOKKEEPING | {"reported_at"},
        ),
    )
    audit.register(
        ClaimDocument,
        audit.Spec(
            type="claim_document",
            created=("requirement", "size"),
            label=lambda d: f"{d.claim.number} · {_document_label(d)}",
            union_id=lambda d: d.claim.union_id,
            trail=audit.trail("claim", "claim_id"),
            hidden=frozenset({"original_name"}),
            ignored=audit.BOOKKEEPING | {"uploaded_at"},
            values={"requirement": _requirement},
            display_label=lambda d: f"{d.claim.number} · {_document_label(d)}",
        ),
    )
    audit.register(
        Payout,
        audit.Spec(
            type="payout",
            created=("kind", "amount", "payee_name", "payee_account"),
            label=lambda p: f"{p.claim.number} · {p.kind} · {p.amount}",
            display_label=lambda p: f"{p.claim.number} · {p.get_kind_display()} · {p.amount}",
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
