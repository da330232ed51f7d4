"""One hospital stay is paid once, whichever of a member's overlapping covers in a plan it is
claimed on: the second claim's proposal is flagged (rejected as already paid, with the earlier
claim named), and approving it anyway needs the written reason a departure from the proposal
needs. Also when both proposals were made before either claim was approved."""

from __future__ import annotations

import datetime
import importlib
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from claims import services
from claims.models import Claim, Payout
from tests import factories

D = datetime.date
STAY = {
    "admission_date": "2026-06-01",
    "discharge_date": "2026-06-11",
    "hospital_locality": "local",
    "hospital_grade": 3,
    "filed_date": "2026-06-20",
}


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    def go(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return go


def claim_on(enrollment, **kwargs) -> Claim:
    values = {"status": Claim.Status.REVIEWING, "event_date": D(2026, 6, 1), "facts": dict(STAY)}
    return factories.ClaimFactory(enrollment=enrollment, **{**values, **kwargs})


def proposed(claim: Claim) -> Claim:
    services.claim_propose_run(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


@pytest.fixture
def split_cover(world):
    """Member A holds one share of beijing-allowance-2011 (up to 3 a person) through unit A for
    2026 and one through unit B from February: two covers overlapping from February on."""
    version = factories.catalog_version("beijing-allowance-2011")
    first = factories.enroll(world.member_a, version, union=world.unit_a)
    second = factories.enroll(
        world.member_a, version, union=world.unit_b, coverage_start=D(2026, 2, 1)
    )
    return first, second


def test_the_same_stay_claimed_on_the_second_cover_is_flagged_not_payable(
    world, split_cover, eager
):
    first_cover, second_cover = split_cover
    first = proposed(claim_on(first_cover))
    assert (first.proposal["decision"], first.proposal["amount"]) == ("pay", "210.00")
    eager(
        services.claim_decide,
        claim=first,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
    )

    second = proposed(claim_on(second_cover))
    assert second.proposal["decision"] == "reject"
    assert second.proposal["reasons"] == ["benefit_already_paid"]
    assert second.proposal["flags"] == ["paid_on_other_cover"]
    assert second.proposal["paid_before"] == first.number

    # Paying it as if nothing had been paid is a departure from the proposal: refused bare.
    with pytest.raises(services.ClaimError):
        services.claim_decide(
            claim=second, user=world.office_staff, approve=True, amount=Decimal("210.00")
        )
    assert not Payout.objects.filter(claim=second).exists()
    # Following the proposal needs no reason.
    eager(
        services.claim_decide,
        claim=second,
        user=world.office_staff,
        approve=False,
        amount=None,
        reasons=["benefit_already_paid"],
    )
    second.refresh_from_db()
    assert second.status == Claim.Status.REJECTED and second.override_reason == ""
    assert Payout.objects.filter(claim__enrollment__member=world.member_a).count() == 1


def test_staff_see_the_flag_and_the_earlier_claim(client, world, split_cover, eager):
    first_cover, second_cover = split_cover
    first = proposed(claim_on(first_cover))
    eager(
        services.claim_decide,
        claim=first,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
    )
    second = proposed(claim_on(second_cover))
    client.force_login(world.office_staff)
    page = client.get(reverse("claims:claim_detail", args=[second.pk])).content.decode()
    assert first.number in page
    assert "paid_on_other_cover" not in page  # shown in words, not as a code


def test_both_proposed_before_either_was_approved_the_second_approval_needs_a_reason(
    world, split_cover, eager
):
    first_cover, second_cover = split_cover
    first, second = proposed(claim_on(first_cover)), proposed(claim_on(second_cover))
    assert first.proposal["decision"] == second.proposal["decision"] == "pay"
    eager(
        services.claim_decide,
        claim=first,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
    )
    # The approval made the other open claim's proposal out of date: it was worked out again.
    second.refresh_from_db()
    assert second.proposal["flags"] == ["paid_on_other_cover"]

    # Even following the stale "pay", approving the same stay again is refused without a reason.
    stale = {"decision": "pay", "amount": "210.00", "reasons": [], "lines": [], "flags": []}
    Claim.objects.filter(pk=second.pk).update(proposal=stale)
    second.refresh_from_db()
    with pytest.raises(services.ClaimError) as refused:
        services.claim_decide(
            claim=second, user=world.office_staff, approve=True, amount=Decimal("210.00")
        )
    assert first.number in str(refused.value)
    assert Payout.objects.filter(claim=second).count() == 0

    # With a written reason it is the office's considered decision, and the reason is kept.
    reason = "两份参保各自按份数给付，经核实无误"
    eager(
        services.claim_decide,
        claim=second,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
        override_reason=reason,
    )
    second.refresh_from_db()
    assert second.status == Claim.Status.APPROVED and second.override_reason == reason


def test_another_stay_on_the_second_cover_is_paid_as_usual(world, split_cover, eager):
    first_cover, second_cover = split_cover
    first = proposed(claim_on(first_cover))
    eager(
        services.claim_decide,
        claim=first,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
    )
    later = dict(
        STAY, admission_date="2026-08-01", discharge_date="2026-08-11", filed_date="2026-08-20"
    )
    other = proposed(claim_on(second_cover, facts=later, event_date=D(2026, 8, 1)))
    assert (other.proposal["decision"], other.proposal["flags"]) == ("pay", [])
    eager(
        services.claim_decide,
        claim=other,
        user=world.office_staff,
        approve=True,
        amount=Decimal("210.00"),
    )
    other.refresh_from_db()
    assert other.status == Claim.Status.APPROVED and other.override_reason == ""


@contextmanager
def written_before_the_fix():
    """Overlapping cover beyond the share limit, as databases hold it from before the limit
    covered overlapping periods (the 130 people of the report): the share-limit trigger is
    set aside while it is written."""
    trigger = "enrollment_shares_within_limit_insert"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key checks: they are run first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE enrollment_enrollment DISABLE TRIGGER {trigger}")
            try:
                yield
            finally:
                cursor.execute(f"ALTER TABLE enrollment_enrollment ENABLE TRIGGER {trigger}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            migration = importlib.import_module(
                "enrollment.migrations.0008_one_draft_and_share_limit"
            )
            cursor.execute(f"DROP TRIGGER {trigger}")
            try:
                yield
            finally:
                cursor.execute(migration.SQLITE_CREATE[0])


def test_the_reported_case_one_share_plan_covers_from_january_and_february(world, eager):
    version = factories.catalog_version()  # jilin-allowance-2020: one share a person
    january = factories.enroll(world.member_a, version, union=world.unit_a)
    with written_before_the_fix():
        february = factories.enroll(
            world.member_a, version, union=world.unit_b, coverage_start=D(2026, 2, 1)
        )
    first = proposed(claim_on(january))
    assert (first.proposal["decision"], first.proposal["amount"]) == ("pay", "500.00")
    eager(
        services.claim_decide,
        claim=first,
        user=world.office_staff,
        approve=True,
        amount=Decimal("500.00"),
    )
    second = proposed(claim_on(february))
    assert (second.proposal["decision"], second.proposal["flags"]) == (
        "reject",
        ["paid_on_other_cover"],
    )
    with pytest.raises(services.ClaimError):
        services.claim_decide(
            claim=second, user=world.office_staff, approve=True, amount=Decimal("500.00")
        )
    assert Payout.objects.filter(claim__enrollment__member=world.member_a).count() == 1
