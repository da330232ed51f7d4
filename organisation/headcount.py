"""A unit's headcount kept in the portal: the clerk proposes, staff above the unit decide.

The headcount (``Union.headcount``, the members on the unit's books) is what the roster check
measures participation against and what the ``rows_exceed_headcount`` warning compares a roster
with. A unit's clerk knows it best but must not set it alone (a lower number would let a roster
pass a participation rule), so the clerk's number waits as a proposal until county, city or
office staff above the unit confirm it; only then does it become the unit's headcount. Every
step is written to the audit log through the models' signals (the proposal and the union are
audited models), in the same transaction as the change.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from organisation.models import HeadcountProposal, Union, User

# Who decides: staff of a node above the unit (never the unit itself).
DECIDER_ROLES = (User.Role.COUNTY_STAFF, User.Role.OFFICE_STAFF)
# A number above this is a typing slip, not a unit.
MAX_HEADCOUNT = 1_000_000


class HeadcountError(Exception):
    """A step the user may not take or the proposal's state does not allow; the message is for
    the user."""


def may_propose(user: User, union: Union) -> bool:
    return (
        user.is_active
        and user.role == User.Role.CLERK
        and union.is_grassroots
        and user.union_id == union.pk
    )


def may_decide(user: User, union: Union) -> bool:
    """Staff of a node strictly above the unit, within whose branch the unit lies."""
    if not (user.is_active and user.role in DECIDER_ROLES and user.union_id):
        return False
    return (
        union.is_grassroots and user.union_id != union.pk and union.path.startswith(user.union.path)
    )


def proposals_awaiting(user: User) -> QuerySet[HeadcountProposal]:
    """The proposals ``user`` may decide: units strictly below the user's node, oldest first."""
    if not (user.is_active and user.role in DECIDER_ROLES and user.union_id):
        return HeadcountProposal.objects.none()
    return (
        HeadcountProposal.objects.filter(
            status=HeadcountProposal.Status.PENDING,
            union__path__startswith=user.union.path,
        )
        .exclude(union_id=user.union_id)
        .select_related("union", "proposed_by")
        .order_by("proposed_at", "pk")
    )


def pending_proposal(union: Union) -> HeadcountProposal | None:
    return (
        HeadcountProposal.objects.filter(union=union, status=HeadcountProposal.Status.PENDING)
        .select_related("proposed_by")
        .first()
    )


@transaction.atomic
def headcount_propose(
    *, user: User, union: Union, headcount: int, note: str = ""
) -> HeadcountProposal:
    """Record the clerk's number as the unit's pending proposal. A proposal already waiting is
    replaced (marked withdrawn), so a slip is corrected by proposing again."""
    if not may_propose(user, union):
        raise HeadcountError(_("Only the clerk of this unit may propose its headcount."))
    if not 1 <= headcount <= MAX_HEADCOUNT:
        raise HeadcountError(
            _("The headcount must be a whole number from 1 to %(max)s.") % {"max": MAX_HEADCOUNT}
        )
    # Proposals and decisions of one unit are served one at a time.
    union = Union.objects.select_for_update().get(pk=union.pk)
    for old in HeadcountProposal.objects.select_for_update().filter(
        union=union, status=HeadcountProposal.Status.PENDING
    ):
        old.status = HeadcountProposal.Status.WITHDRAWN
        old.decided_at = timezone.now()
        old.save(update_fields=["status", "decided_at"])
    return HeadcountProposal.objects.create(
        union=union,
        headcount=headcount,
        previous=union.headcount,
        note=note.strip(),
        proposed_by=user,
    )


@transaction.atomic
def headcount_decide(
    *, user: User, proposal: HeadcountProposal, confirm: bool, note: str = ""
) -> HeadcountProposal:
    """Confirm (the number becomes the unit's headcount) or reject a pending proposal."""
    union = Union.objects.select_for_update().get(pk=proposal.union_id)
    proposal = HeadcountProposal.objects.select_for_update().get(pk=proposal.pk)
    if not may_decide(user, union):
        raise HeadcountError(
            _("Only county, city or office staff above this unit may decide on its headcount.")
        )
    if proposal.status != HeadcountProposal.Status.PENDING:
        raise HeadcountError(
            _("This proposal was already decided or replaced; nothing was changed.")
        )
    note = note.strip()
    if not confirm and not note:
        raise HeadcountError(_("Say why the proposal is rejected, so the clerk can correct it."))
    proposal.status = (
        HeadcountProposal.Status.CONFIRMED if confirm else HeadcountProposal.Status.REJECTED
    )
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.decision_note = note
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    if confirm:
        union.headcount = proposal.headcount
        union.save(update_fields=["headcount"])
    return proposal
