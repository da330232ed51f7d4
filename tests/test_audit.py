"""The audit log: changes, bulk operations and every full view or download of personal data are
recorded with who, when and from where; auditors search it within their office; a claim's page
shows its trail, including who opened its documents."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimDocument
from claims.services import required_documents
from enrollment import services
from enrollment.models import Enrollment, Roster
from mutualaid.auditlog import audit
from mutualaid.auditlog.models import AuditEntry
from organisation.models import User
from tests import factories
from tests.test_claim_journey import add_documents, report
from tests.test_roster_journey import good_rows, upload, workbook

Action = AuditEntry.Action
BROWSER = "Mozilla/5.0 (audit test)"


def _claim_with_documents(client, world, covered) -> Claim:
    enrollment, run = covered
    client.force_login(world.clerk_a)
    report(client, enrollment, run)
    claim = Claim.objects.get()
    add_documents(client, claim, run)
    return claim


# --- changes -------------------------------------------------------------------------------------


def test_a_member_change_is_logged_with_masked_values(world):
    member = world.member_a
    with audit.acting(world.clerk_a, audit.Source.WEB):
        services.member_upsert(
            id_number=member.id_number,
            name=member.name,
            union=member.union,
            phone="13800001111",
            bank_card="6217000010001234567",
            employment_type=member.employment_type,
        )
    entry = AuditEntry.objects.filter(trail=f"member:{member.pk}", action=Action.UPDATE).get()
    assert entry.actor == world.clerk_a and entry.actor_role == User.Role.CLERK
    assert entry.union_id == member.union_id
    old, new = entry.changes["bank_card"]
    assert new.endswith("4567") and "*" in new and "6217000010001234567" not in str(entry.changes)
    assert "13800001111" not in str(entry.changes) and "phone" in entry.changes


def test_a_save_that_changes_nothing_is_not_an_event(world):
    before = AuditEntry.objects.count()
    world.member_a.save()
    assert AuditEntry.objects.count() == before


def test_a_change_that_rolls_back_leaves_no_entry(world):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        world.member_a.name = "改名"
        world.member_a.save()
        raise RuntimeError
    assert AuditEntry.objects.count() == before


def test_users_and_plans_changes_are_logged(world):
    user = world.clerk_b
    user.set_password("a-new-password-2026")
    user.role = User.Role.COUNTY_STAFF
    user.union = world.county_b
    user.save()
    entry = AuditEntry.objects.filter(trail=f"user:{user.pk}", action=Action.UPDATE).first()
    assert entry.changes["password"] == audit.HIDDEN
    assert entry.changes["role"] == [User.Role.CLERK, User.Role.COUNTY_STAFF]
    assert "a-new-password" not in str(entry.changes)

    version = factories.catalog_version()
    assert AuditEntry.objects.filter(object_type="plan_version", action=Action.CREATE).exists()
    version.rules = dict(version.rules, note="x")
    version.save()
    changed = AuditEntry.objects.get(
        object_type="plan_version", action=Action.UPDATE, trail=f"plan:{version.plan_id}"
    )
    assert changed.changes == {"rules": audit.HIDDEN}


def test_logins_and_failed_logins_are_logged_with_the_address(client, world):
    signed_in = client.post(
        reverse("login"), {"username": world.auditor.username, "password": "pw-for-tests"}
    )
    assert signed_in.status_code == 302
    from django.test import Client

    failed = Client().post(
        reverse("login"),
        {"username": world.clerk_a.username, "password": "wrong"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert failed.status_code == 200
    assert AuditEntry.objects.filter(action=Action.LOGIN, actor=world.auditor).exists()
    entry = AuditEntry.objects.get(action=Action.LOGIN_FAILED)
    assert entry.object_label == world.clerk_a.username and entry.ip == "10.1.2.3"
    assert entry.union_id == world.clerk_a.union_id


# --- bulk operations -----------------------------------------------------------------------------


def test_a_roster_import_and_its_payment_are_logged_as_bulk_changes(
    client, world, django_capture_on_commit_callbacks
):
    from plans.services import plans_load_catalog

    plans_load_catalog()
    world.unit_a.headcount = 4
    world.unit_a.save()

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    client.force_login(world.clerk_a)
    run(upload, client, workbook(good_rows(4)))
    roster = Roster.objects.get()
    run(
        client.post,
        reverse("enrollment:roster_submit", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.SUBMITTED
    bulk = AuditEntry.objects.filter(action=Action.BULK, trail=f"roster:{roster.pk}")
    enrolled = bulk.get(object_type="enrollment", note="roster_enrolled")
    assert enrolled.count == 4 and enrolled.actor == world.clerk_a
    assert bulk.filter(object_type="member", count=4).exists()

    client.force_login(world.office_staff)
    run(
        client.post,
        reverse("enrollment:roster_approve", args=[roster.pk]),
        {"confirmed": str(roster.check_token)},
    )
    # The unit's share, then the subsidy giver's: each receipt confirmed once.
    dues = Roster.objects.get().funding["amounts"]
    unit_due = sum(Decimal(v) for k, v in dues.items() if k != "subsidy")
    for n, (payer, amount) in enumerate(
        (("unit", unit_due), ("subsidy:吉林省直机关工会", Decimal(dues["subsidy"])))
    ):
        run(
            client.post,
            reverse("enrollment:roster_payment", args=[roster.pk]),
            {
                "payer": payer,
                "amount": str(amount),
                "received_on": timezone.localdate(),
                "reference": f"BANK-{n}",
                "confirmed": "yes",
            },
        )
    receipts = AuditEntry.objects.filter(object_type="receipt", trail=f"roster:{roster.pk}")
    assert receipts.count() == 2 and {e.actor for e in receipts} == {world.office_staff}
    activated = bulk.get(note="roster_activated")
    assert activated.count == 4 and activated.actor == world.office_staff
    assert Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).count() == 4
    assert f" {roster.pk} " in str(audit.describe(activated))


# --- full views and downloads --------------------------------------------------------------------


def test_showing_an_id_number_in_full_is_logged(client, world):
    client.force_login(world.clerk_a)
    url = reverse("enrollment:member_reveal", args=[world.member_a.pk, "id_number"])
    page = client.get(reverse("enrollment:member_detail", args=[world.member_a.pk]))
    assert world.member_a.id_number not in page.content.decode()
    assert url in page.content.decode()

    shown = client.post(url, HTTP_HX_REQUEST="true", HTTP_USER_AGENT=BROWSER)
    assert shown.status_code == 200 and world.member_a.id_number in shown.content.decode()
    entry = AuditEntry.objects.get(action=Action.VIEW)
    assert entry.actor == world.clerk_a and entry.note == "id_number_shown"
    assert entry.trail == f"member:{world.member_a.pk}" and entry.ip == "127.0.0.1"
    assert entry.user_agent == BROWSER

    # Without htmx, a small page with the number and a way back.
    plain = client.post(url)
    assert world.member_a.id_number in plain.content.decode()
    assert AuditEntry.objects.filter(action=Action.VIEW).count() == 2


def test_auditors_and_other_unions_cannot_show_numbers_in_full(client, world):
    url = reverse("enrollment:member_reveal", args=[world.member_a.pk, "id_number"])
    client.force_login(world.auditor)
    assert client.post(url).status_code == 403
    page = client.get(reverse("enrollment:member_detail", args=[world.member_a.pk]))
    assert url not in page.content.decode()
    client.force_login(world.clerk_b)
    assert client.post(url).status_code == 404
    client.force_login(world.clerk_a)
    bad_field = reverse("enrollment:member_reveal", args=[world.member_a.pk, "name"])
    assert client.post(bad_field).status_code == 404
    assert not AuditEntry.objects.filter(action=Action.VIEW).exists()


def test_the_bank_card_filled_into_a_claim_form_is_a_logged_view(client, world, covered):
    enrollment, _run = covered
    client.force_login(world.clerk_a)
    page = client.get(reverse("claims:claim_report", args=[enrollment.pk]))
    assert world.member_a.bank_card in page.content.decode()
    entry = AuditEntry.objects.get(action=Action.VIEW)
    assert entry.note == "claim_form_bank_card" and entry.actor == world.clerk_a


def test_auditor_sees_the_claim_trail_with_who_opened_its_documents(client, world, covered):
    claim = _claim_with_documents(client, world, covered)
    document = claim.documents.first()

    client.force_login(world.office_staff)
    opened = client.get(
        reverse("claims:claim_document_download", args=[claim.pk, document.pk]),
        REMOTE_ADDR="10.9.8.7",
    )
    assert opened.status_code == 200
    shown = client.post(reverse("claims:claim_reveal", args=[claim.pk]), HTTP_HX_REQUEST="true")
    assert claim.payee_account in shown.content.decode()

    client.force_login(world.auditor)
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert 'id="audit-trail"' in page
    trail = page[page.index('id="audit-trail"') :]
    assert world.office_staff.display_name in trail and "10.9.8.7" in trail
    label = dict(required_documents(claim))[document.requirement]
    assert str(audit.NOTES["document_opened"] % {"requirement": label}) in trail
    assert str(audit.NOTES["payee_account_shown"]) in trail
    # The clerk's report and uploads are there too, in the same trail.
    assert AuditEntry.objects.filter(
        trail=f"claim:{claim.pk}", object_type="claim_document", action=Action.CREATE
    ).exists()
    assert world.clerk_a.display_name in trail
    # Full numbers never appear on the page, only masked ones.
    assert claim.payee_account not in page

    # A clerk does not see the audit trail.
    client.force_login(world.clerk_a)
    assert (
        'id="audit-trail"'
        not in client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    )


def test_downloads_of_rosters_and_bank_files_are_logged(client, world):
    roster = factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a)
    from django.core.files.base import ContentFile

    roster.annotated.save("a.xlsx", ContentFile(b"PK\x03\x04"), save=True)
    client.force_login(world.county_staff_a)
    response = client.get(reverse("enrollment:roster_download", args=[roster.pk, "annotated"]))
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=Action.DOWNLOAD)
    assert entry.note == "roster_annotated" and entry.trail == f"roster:{roster.pk}"
    assert entry.actor == world.county_staff_a


# --- searching the log ---------------------------------------------------------------------------


def test_auditors_search_the_log_within_their_office(client, world, covered):
    claim = _claim_with_documents(client, world, covered)
    client.force_login(world.office_staff)
    document = claim.documents.first()
    client.get(reverse("claims:claim_document_download", args=[claim.pk, document.pk]))
    # Something in another office, which this auditor must not see.
    other = factories.MemberFactory(union=world.other_unit, name="外办职工")
    other.name = "外办职工改"
    other.save()

    client.force_login(world.auditor)
    url = reverse("oversight:audit_log")
    everything = client.get(url).content.decode()
    assert claim.number in everything and "外办职工" not in everything

    by_claim = client.get(url, {"record": claim.number}).content.decode()
    label = dict(required_documents(claim))[document.requirement]
    assert str(audit.NOTES["document_opened"] % {"requirement": label}) in by_claim
    by_user = client.get(url, {"user": world.office_staff.username, "action": "download"})
    rows = by_user.context["page"].object_list
    assert rows and all(e.actor == world.office_staff for e in rows)
    # An ID number goes by POST and comes back under a token, never in the address.
    by_id = client.post(url, {"record": world.member_a.id_number}, follow=True)
    assert world.member_a.id_number not in by_id.redirect_chain[-1][0]
    by_id = by_id.context["page"].object_list
    assert by_id and all(
        e.trail == f"member:{world.member_a.pk}" or world.member_a.name in e.object_label
        for e in by_id
    )

    backwards = client.get(url, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert "The start date is after the end date." in backwards.content.decode() or (
        "开始日期晚于结束日期" in backwards.content.decode()
    )
    assert not backwards.context["page"].object_list

    # Only auditors reach the log.
    client.force_login(world.office_staff)
    assert client.get(url).status_code == 403


def test_the_audit_export_is_neutralised_and_itself_logged(client, world):
    member = factories.MemberFactory(union=world.unit_a, name="=HYPERLINK(1)")
    member.name = "=HYPERLINK(2)"
    member.save()
    client.force_login(world.auditor)
    response = client.get(reverse("oversight:audit_export"), {"record_type": "member"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row if cell.value]
    assert any(str(v).startswith("'=HYPERLINK") for v in values)
    assert not any(str(v).startswith("=") for v in values)
    logged = AuditEntry.objects.get(note="audit_exported")
    assert logged.actor == world.auditor and logged.count >= 2


def test_entries_are_kept_when_the_tree_changes(world):
    entry = audit.record(Action.VIEW, obj=world.member_a, user=world.clerk_a)
    assert entry.source == AuditEntry.Source.COMMAND  # no request, no worker: a command
    assert entry.actor_username == world.clerk_a.username


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_log_is_append_only_on_postgresql(world):
    from django.db import DatabaseError

    entry = audit.record(Action.VIEW, obj=world.member_a, user=world.clerk_a)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk, note="").exists()


def test_a_claim_document_row_records_when_it_was_uploaded(client, world, covered):
    claim = _claim_with_documents(client, world, covered)
    created = AuditEntry.objects.filter(object_type="claim_document", action=Action.CREATE)
    assert created.count() == ClaimDocument.objects.filter(claim=claim).count()
    assert all(e.actor == world.clerk_a for e in created)
    assert all(e.at <= timezone.now() + datetime.timedelta(seconds=1) for e in created)


def test_member_and_roster_pages_show_their_trail_to_auditors(client, world):
    from django.core.files.base import ContentFile

    client.force_login(world.clerk_a)
    client.post(reverse("enrollment:member_reveal", args=[world.member_a.pk, "id_number"]))
    roster = factories.RosterFactory(union=world.unit_a, created_by=world.clerk_a)
    roster.annotated.save("a.xlsx", ContentFile(b"PK\x03\x04"), save=True)
    client.get(reverse("enrollment:roster_download", args=[roster.pk, "annotated"]))

    client.force_login(world.auditor)
    member_page = client.get(reverse("enrollment:member_detail", args=[world.member_a.pk]))
    trail = member_page.content.decode().split('id="audit-trail"')[1]
    assert str(audit.NOTES["id_number_shown"]) in trail and world.clerk_a.display_name in trail
    roster_page = client.get(reverse("enrollment:roster_detail", args=[roster.pk]))
    trail = roster_page.content.decode().split('id="audit-trail"')[1]
    assert str(audit.NOTES["roster_annotated"]) in trail

    # Clerks and county staff see the pages without a trail.
    client.force_login(world.clerk_a)
    page = client.get(reverse("enrollment:member_detail", args=[world.member_a.pk]))
    assert 'id="audit-trail"' not in page.content.decode()
