"""An amount reads the same on a roster page, a claim page and the fee notice, in both languages:
¥13,310.00, never ¥13310.00 beside ¥13,310.00, nor 500.00 beside ¥500.00."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from claims.tests.test_notices import decided, proposal
from enrollment import payments, statements
from enrollment.documents import fee_notice_context, fee_notice_pdf
from mutualaid.formatting import AMOUNT_FORMAT, DATE_FORMAT, money
from tests.factories import approved_roster, catalog_version, enroll

FEE = Decimal("13310.00")  # 121 people at 110 yuan a share
WRITTEN = "¥13,310.00"
UNGROUPED = re.compile(r"(?<![\d,])13310(\.\d+)?(?!\d)")


def get(client, url: str, language: str) -> str:
    client.cookies["django_language"] = language
    with translation.override(language):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_roster_page_a_claim_page_and_the_fee_notice_write_one_amount_alike(
    client, world, language
):
    roster = approved_roster(world.unit_a, people=121)
    assert roster.fee_total == FEE
    claim = decided(
        enroll(world.member_a, catalog_version("jilin-allowance-2020")),
        approved_amount=FEE,
        proposal=proposal("13310.00", ("住院津贴", "13310.00")),
    )
    assert money(FEE) == WRITTEN
    client.force_login(world.office_staff)

    roster_page = get(client, reverse("enrollment:roster_detail", args=[roster.pk]), language)
    claim_page = get(client, reverse("claims:claim_detail", args=[claim.pk]), language)
    context = fee_notice_context(roster)
    notice = "".join(
        "".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(fee_notice_pdf(roster))).pages
    )

    assert WRITTEN in roster_page
    # The approved amount and the engine's line both read ¥13,310.00 on the claim page.
    assert claim_page.count(WRITTEN) >= 2
    assert context["fee_total"] == money(FEE, symbol=False)
    assert WRITTEN in notice
    for text in (roster_page, claim_page, notice):
        assert not UNGROUPED.search(text), UNGROUPED.search(text)


def test_exported_workbooks_keep_amounts_and_dates_as_numbers_in_the_portals_format(client, world):
    roster = approved_roster(world.unit_a, people=121)
    received = datetime.date(2026, 1, 5)
    payments.receipt_record(
        roster=roster,
        user=world.office_staff,
        payer_key=payments.UNIT,
        amount=Decimal("9680.00"),
        received_on=received,
        reference="BANK-1",
    )
    statement = statements.statement_create(
        office=world.office,
        giver=statements.subsidy_givers(world.office)[0],
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
        user=world.office_staff,
    )
    client.force_login(world.office_staff)
    receipts = load_workbook(
        io.BytesIO(b"".join(client.get(reverse("enrollment:receipt_export")).streaming_content))
    ).active
    subsidy = load_workbook(io.BytesIO(statements.statement_xlsx(statement))).active

    date_cell, amount_cell = receipts["A2"], receipts["E2"]
    assert (date_cell.value.date(), date_cell.number_format) == (received, DATE_FORMAT)
    assert (amount_cell.value, amount_cell.number_format) == (9680, AMOUNT_FORMAT)
    line = next(row for row in subsidy.iter_rows(min_row=5) if row[0].value == 1)
    assert (line[5].value.date(), line[5].number_format) == (roster.coverage_start, DATE_FORMAT)
    assert (line[7].value, line[7].number_format) == (3630, AMOUNT_FORMAT)  # 121 × 30
    total = next(row for row in subsidy.iter_rows(min_row=5) if row[0].value == "合计")
    assert (total[7].value, total[7].number_format) == (3630, AMOUNT_FORMAT)
