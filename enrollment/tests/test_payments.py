"""Money that adds up: a roster's fee split by payer, receipts, subsidy statements, the office's
bank account, and the fee notice and pages that show the same split."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from enrollment import payments, statements
from enrollment.documents import fee_notice_context, fee_notice_pdf
from enrollment.models import (
    Enrollment,
    OfficeBankAccount,
    Receipt,
    Roster,
    SubsidyStatementLine,
)
from mutualaid.auditlog.models import AuditEntry
from tests import factories

GIVER = "吉林省直机关工会"
GIVER_KEY = f"subsidy:{GIVER}"
TODAY = timezone.localdate


@pytest.fixture
def roster(world):
    """The reproduced case: 80 people at 110 yuan, 30 of it the giver's subsidy."""
    roster = factories.approved_roster(world.unit_a, people=80)
    factories.enroll(world.member_a, roster=roster, status=Enrollment.Status.PENDING)
    return roster


def record(roster, user, payer=payments.UNIT, amount="6400.00", reference="BANK-1", **kw):
    return payments.receipt_record(
        roster=roster,
        user=user,
        payer_key=payer,
        amount=Decimal(amount),
        received_on=kw.pop("received_on", TODAY()),
        reference=reference,
    )


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    # Without line breaks: the layout wraps long lines anywhere.
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(
        "\n", ""
    )


def dues_of(roster) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {d.key: (d.amount, d.received, d.outstanding) for d in payments.roster_dues(roster)}


# --- the split -----------------------------------------------------------------------------------


def test_the_due_is_split_into_the_units_transfer_and_the_givers_subsidy(roster):
    assert roster.fee_total == Decimal("8800.00")
    assert dues_of(roster) == {
        "unit": (Decimal("6400.00"), 0, Decimal("6400.00")),
        GIVER_KEY: (Decimal("2400.00"), 0, Decimal("2400.00")),
    }
    unit = payments.roster_dues(roster)[0]
    # The unit's transfer is its administration's share and the members' share it collects.
    assert [(code, amount) for code, _pct, amount in unit.parts] == [
        ("unit", Decimal("3840.00")),
        ("member", Decimal("2560.00")),
    ]


def test_the_fee_notice_the_payment_page_and_the_ledger_show_the_same_split(client, world, roster):
    context = fee_notice_context(roster)
    assert context["payable"] == "6,400.00"
    assert context["givers"] == [{"name": GIVER, "amount": "2,400.00"}]
    client.force_login(world.office_staff)
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert "¥6,400.00" in page and "¥2,400.00" in page and GIVER in page
    record(roster, world.office_staff)
    with translation.override("en"):
        page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
        ledger = client.get(reverse("enrollment:receipt_list")).content.decode()
    assert "BANK-1" in page and "Outstanding in all: ¥2,400.00" in page
    assert "BANK-1" in ledger and "¥6,400.00" in ledger


def test_a_subsidy_without_a_named_giver_is_owed_by_the_subsidy_named(world):
    from plans.engine.rules import parse_rules

    version = factories.catalog_version()
    raw = version.rules
    raw["fees"]["subsidies"][0].pop("giver", None)
    rules = parse_rules(raw)
    assert rules.fees.subsidies[0].payer == "省直机关工会补贴"
    # Rules written before the giver existed round-trip unchanged.
    assert "giver" not in rules.to_dict()["fees"]["subsidies"][0]
    raw["fees"]["subsidies"][0]["giver"] = 5
    with pytest.raises(Exception, match="giver"):
        parse_rules(raw)


# --- receipts ---------------------------------------------------------------------------------


def test_the_units_6400_is_accepted_and_the_roster_is_paid_when_the_giver_pays_too(
    world, roster, django_capture_on_commit_callbacks
):
    record(roster, world.office_staff, amount="6400.00", reference="UNIT-1")
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED
    assert dues_of(roster)["unit"][2] == 0 and dues_of(roster)[GIVER_KEY][2] == Decimal("2400.00")
    assert Enrollment.objects.get(roster=roster).status == Enrollment.Status.PENDING

    with django_capture_on_commit_callbacks(execute=False):
        record(roster, world.office_staff, payer=GIVER_KEY, amount="1000.00", reference="G-1")
        record(roster, world.office_staff, payer=GIVER_KEY, amount="1400.00", reference="G-2")
    roster.refresh_from_db()
    assert roster.status == Roster.Status.PAID
    assert roster.payment_amount == Decimal("8800.00")
    assert roster.payment_reference == "UNIT-1 G-1 G-2"
    assert Enrollment.objects.get(roster=roster).status == Enrollment.Status.ACTIVE


@pytest.mark.parametrize(
    ("amount", "received_on", "message"),
    [
        ("6400.01", None, "more than the ¥6,400.00 still outstanding"),
        ("0", None, "more than zero"),
        ("-5", None, "more than zero"),
        ("100.00", datetime.timedelta(days=1), "cannot be in the future"),
    ],
)
def test_bad_receipts_are_refused_with_a_message_and_change_nothing(
    world, roster, amount, received_on, message
):
    day = TODAY() + received_on if received_on else TODAY()
    with translation.override("en"), pytest.raises(payments.PaymentError, match=message):
        record(roster, world.office_staff, amount=amount, received_on=day)
    assert not Receipt.objects.exists()
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED


def test_a_bank_reference_is_used_once_per_office(world, roster):
    other = factories.approved_roster(world.unit_b, people=2)
    record(roster, world.office_staff, amount="100.00", reference="SAME")
    with translation.override("en"), pytest.raises(payments.PaymentError, match="already"):
        record(other, world.office_staff, amount="100.00", reference=" SAME ")
    assert Receipt.objects.count() == 1
    # Another office may have its own bank's reference that looks the same.
    elsewhere = factories.approved_roster(world.other_unit, people=2)
    record(elsewhere, world.other_office_staff, amount="100.00", reference="SAME")
    # And the database refuses it whatever the code checks.
    with pytest.raises(IntegrityError), transaction.atomic():
        Receipt.objects.create(
            office=world.office,
            roster=other,
            payer="unit",
            amount=Decimal("1"),
            received_on=TODAY(),
            reference="SAME",
            recorded_by=world.office_staff,
        )


def test_receipts_need_an_approved_roster(world, roster):
    Roster.objects.filter(pk=roster.pk).update(status=Roster.Status.SUBMITTED)
    roster.refresh_from_db()
    with translation.override("en"), pytest.raises(payments.PaymentError, match="approved"):
        record(roster, world.office_staff)


def test_a_roster_with_money_received_cannot_be_returned(world, roster):
    from enrollment.rosters import RosterActionError, roster_return

    record(roster, world.office_staff, amount="10.00")
    with pytest.raises(RosterActionError):
        roster_return(roster=roster, user=world.office_staff, reason="wrong")


def test_a_roster_paid_before_receipts_counts_as_fully_received(world):
    roster = factories.approved_roster(world.unit_a, people=2)
    Roster.objects.filter(pk=roster.pk).update(
        status=Roster.Status.PAID, payment_amount=Decimal("220.00"), payment_reference="OLD"
    )
    roster.refresh_from_db()
    assert payments.dues_outstanding(payments.roster_dues(roster)) == 0


# --- the pages, with the confirmation ---------------------------------------------------------


def test_recording_a_receipt_asks_once_and_shows_what_remains(client, world, roster):
    client.force_login(world.office_staff)
    client.cookies["django_language"] = "en"
    url = reverse("enrollment:roster_payment", args=[roster.pk])
    data = {"payer": "unit", "amount": "6000.00", "received_on": TODAY(), "reference": "B-7"}
    with translation.override("en"):
        confirm = client.post(url, data).content.decode()
    assert "Confirm the receipt" in confirm and "¥400.00" in confirm and "¥2,800.00" in confirm
    assert 'name="confirmed" value="yes"' in confirm and "<script>" not in confirm
    assert not Receipt.objects.exists()
    client.post(url, {**data, "confirmed": "yes"})
    receipt = Receipt.objects.get()
    assert (receipt.amount, receipt.reference, receipt.recorded_by) == (
        Decimal("6000.00"),
        "B-7",
        world.office_staff,
    )
    assert AuditEntry.objects.filter(object_type="receipt", trail=f"roster:{roster.pk}").exists()
    # The same post again: the reference is taken, nothing more is recorded.
    with translation.override("en"):
        again = client.post(url, {**data, "confirmed": "yes"}, follow=True).content.decode()
    assert "already recorded" in again and Receipt.objects.count() == 1


def test_a_clerk_cannot_record_receipts(client, world, roster):
    client.force_login(world.clerk_a)
    url = reverse("enrollment:roster_payment", args=[roster.pk])
    data = {"payer": "unit", "amount": "1", "received_on": TODAY(), "reference": "X"}
    assert client.post(url, {**data, "confirmed": "yes"}).status_code == 403
    assert not Receipt.objects.exists()


# --- subsidy statements ------------------------------------------------------------------------


def test_one_receipt_from_the_giver_settles_the_whole_statement(
    client, world, roster, django_capture_on_commit_callbacks
):
    second = factories.approved_roster(world.unit_b, people=10)
    later = factories.approved_roster(
        world.unit_c, people=5, coverage_start=datetime.date(2027, 1, 1)
    )
    assert statements.subsidy_givers(world.office) == [GIVER]
    record(roster, world.office_staff, amount="6400.00", reference="UNIT-A")
    statement = statements.statement_create(
        office=world.office,
        giver=GIVER,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )
    assert statement.total == Decimal("2700.00")  # 2,400 + 300; the 2027 roster is not on it
    assert set(statement.lines.values_list("roster", flat=True)) == {roster.pk, second.pk}
    # Its subsidy is now the statement's: not paid twice through the roster.
    with translation.override("en"), pytest.raises(payments.PaymentError, match="statement"):
        record(second, world.office_staff, payer=GIVER_KEY, amount="300.00", reference="G-X")
    # A second statement for the same period finds nothing left to list.
    with pytest.raises(payments.PaymentError):
        statements.statement_create(
            office=world.office,
            giver=GIVER,
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 12, 31),
            user=world.office_staff,
        )
    with translation.override("en"), pytest.raises(payments.PaymentError, match="more than"):
        statements.statement_receipt_record(
            statement=statement,
            user=world.office_staff,
            amount=Decimal("2700.01"),
            received_on=TODAY(),
            reference="G-ALL",
        )
    with django_capture_on_commit_callbacks(execute=False):
        statements.statement_receipt_record(
            statement=statement,
            user=world.office_staff,
            amount=Decimal("2700.00"),
            received_on=TODAY(),
            reference="G-ALL",
        )
    roster.refresh_from_db()
    second.refresh_from_db()
    later.refresh_from_db()
    assert roster.status == Roster.Status.PAID and roster.payment_amount == Decimal("8800.00")
    # The second unit has not paid its own share yet: outstanding, not paid.
    assert second.status == Roster.Status.APPROVED
    assert dues_of(second) == {
        "unit": (Decimal("800.00"), 0, Decimal("800.00")),
        GIVER_KEY: (Decimal("300.00"), Decimal("300.00"), 0),
    }
    assert later.status == Roster.Status.APPROVED

    client.force_login(world.office_staff)
    with translation.override("en"):
        page = client.get(reverse("enrollment:statement_detail", args=[statement.pk]))
    assert "G-ALL" in page.content.decode()


def test_a_partial_statement_receipt_settles_no_roster(world, roster):
    record(roster, world.office_staff, amount="6400.00", reference="UNIT-A")
    statement = statements.statement_create(
        office=world.office,
        giver=GIVER,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 1, 31),
        user=world.office_staff,
    )
    statements.statement_receipt_record(
        statement=statement,
        user=world.office_staff,
        amount=Decimal("2000.00"),
        received_on=TODAY(),
        reference="G-1",
    )
    roster.refresh_from_db()
    assert roster.status == Roster.Status.APPROVED
    assert statements.statement_outstanding(statement) == Decimal("400.00")


def test_the_statement_prints_and_exports_with_cells_neutralised(client, world):
    world.unit_b.name = "=HYPERLINK(1)"
    world.unit_b.save()
    factories.approved_roster(world.unit_b, people=10)
    OfficeBankAccount.objects.create(
        office=world.office, account_name="长春办事处", bank_name="工行", account_number="6222"
    )
    statement = statements.statement_create(
        office=world.office,
        giver=GIVER,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )
    client.force_login(world.office_staff)
    xlsx = client.get(reverse("enrollment:statement_download", args=[statement.pk, "xlsx"]))
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active.values)
    line = next(r for r in rows if r[0] == 1)
    assert line[1] == "'=HYPERLINK(1)" and line[7] == 300
    pdf = client.get(reverse("enrollment:statement_download", args=[statement.pk, "pdf"]))
    text = pdf_text(b"".join(pdf.streaming_content))
    assert "补贴结算单" in text and statement.number in text and "300.00" in text
    assert "工行" in text and "叁佰元整" in text
    assert AuditEntry.objects.filter(note="subsidy_statement_pdf").exists()
    # Another office's staff do not see it.
    client.force_login(world.other_office_staff)
    page = client.get(reverse("enrollment:statement_detail", args=[statement.pk]))
    assert page.status_code == 404


def test_statements_are_made_and_settled_through_the_pages(client, world, roster):
    client.force_login(world.office_staff)
    client.cookies["django_language"] = "en"
    client.post(
        reverse("enrollment:statement_create"),
        {"giver": GIVER, "period_start": "2026-01-01", "period_end": "2026-12-31"},
    )
    line = SubsidyStatementLine.objects.get()
    url = reverse("enrollment:statement_receipt", args=[line.statement.pk])
    data = {"amount": "2400.00", "received_on": TODAY(), "reference": "G-9"}
    with translation.override("en"):
        confirm = client.post(url, data).content.decode()
    assert "Confirm the receipt" in confirm and GIVER in confirm
    assert not Receipt.objects.exists()
    client.post(url, {**data, "confirmed": "yes"})
    assert Receipt.objects.get().statement == line.statement


# --- the office's bank account and the fee notice --------------------------------------------


def test_office_staff_keep_the_bank_account_and_the_fee_notice_prints_it(client, world, roster):
    client.force_login(world.office_staff)
    url = reverse("enrollment:bank_account")
    client.post(
        url,
        {
            "account_name": "长春市总工会",
            "bank_name": "中国工商银行长春分行",
            "account_number": "0801 0000 1234",
        },
    )
    account = OfficeBankAccount.objects.get(office=world.office)
    assert account.account_number == "0801 0000 1234" and account.updated_by == world.office_staff
    assert AuditEntry.objects.filter(object_type="office_bank_account").exists()
    context = fee_notice_context(roster)
    assert context["account"] == account
    text = pdf_text(fee_notice_pdf(roster))
    assert "中国工商银行长春分行" in text and "6,400.00" in text and GIVER in text
    client.force_login(world.clerk_a)
    assert client.get(url).status_code == 403


def test_the_fee_notice_prints_the_funding_choice_in_words(world):
    beijing = factories.approved_roster(
        world.unit_a,
        people=3,
        code="beijing-accident-2011",
        percent={"unit": Decimal("100")},
        mode="unit_all",
    )
    assert fee_notice_context(beijing)["funding_mode"] == "单位行政全额负担"
    jilin = factories.approved_roster(world.unit_b, people=3)
    words = fee_notice_context(jilin)["funding_mode"]
    assert "60%" in words and "40%" in words and "unit" not in words
    # A code the plan no longer knows is described by its shares, never printed.
    Roster.objects.filter(pk=beijing.pk).update(
        funding={**beijing.funding, "mode": "unit_all_gone"}
    )
    beijing.refresh_from_db()
    assert "unit_all" not in fee_notice_context(beijing)["funding_mode"]


def test_a_reference_taken_between_the_check_and_the_insert_is_refused_clearly(world, roster):
    """The database's unique constraint is the last word; its refusal reads like the check's."""
    Receipt.objects.create(
        office=world.office,
        roster=roster,
        payer="unit",
        amount=Decimal("1.00"),
        received_on=TODAY(),
        reference="RACE",
        recorded_by=world.office_staff,
    )
    with translation.override("en"), pytest.raises(payments.PaymentError, match="already"):
        payments._create(
            office=world.office,
            roster=roster,
            payer="unit",
            amount=Decimal("2.00"),
            received_on=TODAY(),
            reference="RACE",
            recorded_by=world.office_staff,
        )
    assert Receipt.objects.count() == 1


def test_a_subsidy_on_a_statement_is_not_offered_on_the_roster(world, roster):
    assert [key for key, _label in payments.payer_choices(roster)] == ["unit", GIVER_KEY]
    statements.statement_create(
        office=world.office,
        giver=GIVER,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )
    assert [key for key, _label in payments.payer_choices(roster)] == ["unit"]
