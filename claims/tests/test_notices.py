"""Decision notices and the bank transfer workbook, read back from the files themselves."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from claims.models import Claim, PaymentBatch, Payout, Transfer
from claims.notices import (
    BANK_HEADER,
    BANK_SHEET,
    NoticeDataError,
    bank_transfer_workbook,
    decision_notice_pdf,
    decision_notices_pdf,
)
from claims.reasons import REASON_TEXT, reason_text
from enrollment.documents import amount_in_chinese
from plans.engine.identity import mask_bank_card, mask_id_number
from tests.factories import ClaimFactory, MemberFactory, catalog_version, enroll

ACCOUNT = "6222021234567890128"
DECIDED = timezone.make_aware(datetime.datetime(2026, 4, 2, 10, 0))
CONTRACT_CODES = (
    "not_covered",
    "waiting_period",
    "hospital_grade_too_low",
    "stay_too_short",
    "claim_count_exceeded",
    "period_cap_reached",
    "benefit_already_paid",
    "filing_deadline_passed",
    "benefit_not_in_plan",
)


def pdf_pages(pdf: bytes) -> list[str]:
    # Extraction may break a line anywhere; the checks look for words, not layout.
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return "".join(pdf_pages(pdf))


def squeeze(text: str) -> str:
    return "".join(text.split())


def proposal(amount: str, *lines: tuple[str, str]) -> dict:
    return {
        "decision": "pay",
        "amount": amount,
        "reasons": [],
        "lines": [{"label": label, "amount": value} for label, value in lines],
        "flags": [],
    }


def decided(enrollment, **kwargs) -> Claim:
    kwargs.setdefault("status", Claim.Status.APPROVED)
    kwargs.setdefault("decided_at", DECIDED)
    kwargs.setdefault("payee_account", ACCOUNT)
    return ClaimFactory(enrollment=enrollment, **kwargs)


@pytest.fixture
def enrollment(world):
    world.office.contact_name = "刘主任"
    world.office.contact_phone = "0431-88886666"
    world.office.save()
    return enroll(world.member_a, catalog_version("jilin-allowance-2020"))


@pytest.fixture
def approved(enrollment) -> Claim:
    return decided(
        enrollment,
        approved_amount=Decimal("1680.32"),
        proposal=proposal("1680.32", ("住院津贴 10天 × 50元", "500.00"), ("重大疾病", "1180.32")),
    )


@pytest.fixture
def rejected(enrollment) -> Claim:
    return decided(
        enrollment,
        status=Claim.Status.REJECTED,
        reject_reasons=["waiting_period", "hospital_grade_too_low", "filing_deadline_passed"],
        proposal={"decision": "reject", "amount": "0.00", "reasons": [], "lines": []},
    )


# --- reasons -----------------------------------------------------------------------------------


def test_every_contract_reason_code_has_plain_chinese_text():
    assert set(REASON_TEXT) == set(CONTRACT_CODES)
    for code in CONTRACT_CODES:
        text = reason_text(code)
        assert re.search(r"[\u4e00-\u9fff]", text)
        assert "_" not in text, "a member must never read a code"


def test_unknown_reason_code_still_prints_a_sentence_with_the_code_to_quote():
    text = reason_text("new_rule_2027")
    assert "new_rule_2027" in text
    assert "咨询" in text


# --- one notice --------------------------------------------------------------------------------


def test_approved_notice_states_member_plan_and_amount_in_figures_and_capitals(approved, world):
    pdf = decision_notice_pdf(approved)

    assert pdf.startswith(b"%PDF")
    assert len(pdf) <= 200 * 1024
    text = pdf_text(pdf)
    assert "理赔决定通知书" in text
    assert "甲职工" in text
    assert "甲单位工会" in text
    assert "长春办事处" in text
    assert "在职职工住院津贴综合互助保障计划" in text
    assert "jilin-allowance-2020" in text
    assert "住院津贴" in text
    assert approved.number in text
    assert "¥1,680.32" in text
    assert amount_in_chinese(Decimal("1680.32")) == "壹仟陆佰捌拾元零叁角贰分"
    assert "人民币壹仟陆佰捌拾元零叁角贰分" in text
    assert "住院津贴10天×50元" in text
    assert "1,180.32" in text
    assert "2026年4月2日" in text, "dated the day of the decision"
    assert "盖章" in text
    assert "0431-88886666" in text


def test_notice_shows_masked_id_and_account_never_the_full_numbers(approved, rejected):
    member = approved.enrollment.member
    for claim in (approved, rejected):
        text = pdf_text(decision_notice_pdf(claim))
        assert mask_id_number(member.id_number) in text
        assert member.id_number not in text
        assert ACCOUNT not in text
        # The middle digits do not appear in any run either.
        assert member.id_number[4:14] not in text
        assert ACCOUNT[4:15] not in text
    assert mask_bank_card(ACCOUNT) in pdf_text(decision_notice_pdf(approved))


def test_rejected_notice_gives_each_reason_in_plain_chinese_and_how_to_appeal(rejected):
    pdf = decision_notice_pdf(rejected)

    assert len(pdf) <= 200 * 1024
    text = pdf_text(pdf)
    assert "决定不予给付" in text
    for code in rejected.reject_reasons:
        assert squeeze(reason_text(code)) in text
        assert code not in text
    assert "申请复核" in text
    assert "长春办事处" in text
    assert "¥" not in text, "a rejection states no amount"


def test_rejection_with_every_reason_still_prints_each_one(enrollment):
    claim = decided(enrollment, status=Claim.Status.REJECTED, reject_reasons=list(CONTRACT_CODES))

    pdf = decision_notice_pdf(claim)

    text = pdf_text(pdf)
    for code in CONTRACT_CODES:
        assert squeeze(reason_text(code)) in text
    assert len(pdf) <= 200 * 1024


def test_overridden_amount_shows_the_plan_result_the_adjustment_and_its_reason(enrollment):
    claim = decided(
        enrollment,
        approved_amount=Decimal("400.00"),
        proposal=proposal("500.00", ("住院津贴 10天 × 50元", "500.00")),
        override_reason="住院期间有 2 天请假离院，按实际在院天数核减。",
    )

    text = pdf_text(decision_notice_pdf(claim))

    assert "按保障计划规定计算的金额500.00" in text
    assert "经审核调整" in text
    assert "-100.00" in text
    assert "住院期间有2天请假离院，按实际在院天数核减。" in text
    assert "核定给付金额400.00" in text
    assert "¥400.00" in text
    assert "肆佰元整" in text


def test_approval_against_an_engine_rejection_prints_the_office_decision(enrollment):
    claim = decided(
        enrollment,
        approved_amount=Decimal("300.00"),
        proposal={"decision": "reject", "amount": "0.00", "reasons": ["stay_too_short"]},
        override_reason="出院记录补正后住院天数符合规定。",
    )

    text = pdf_text(decision_notice_pdf(claim))

    assert "审核意见：出院记录补正后住院天数符合规定。" in text
    assert "¥300.00" in text
    assert squeeze(reason_text("stay_too_short")) not in text


def test_paid_notice_says_when_the_money_went_out(enrollment):
    paid_at = timezone.make_aware(datetime.datetime(2026, 4, 20, 15, 0))
    claim = decided(
        enrollment,
        status=Claim.Status.PAID,
        approved_amount=Decimal("500.00"),
        proposal=proposal("500.00", ("住院津贴 10天 × 50元", "500.00")),
        paid_at=paid_at,
    )

    assert "保障金已于2026年4月20日转账汇入上述账户" in pdf_text(decision_notice_pdf(claim))


def test_notice_is_chinese_whatever_language_is_active(approved):
    with translation.override("en"):
        text = pdf_text(decision_notice_pdf(approved))
    assert "理赔决定通知书" in text
    assert "第1页/共1页" in text


@pytest.mark.parametrize("status", [Claim.Status.REPORTED, Claim.Status.REVIEWING])
def test_undecided_claim_has_no_notice(enrollment, status):
    claim = decided(enrollment, status=status, decided_at=None)
    with pytest.raises(NoticeDataError, match="尚未作出决定"):
        decision_notice_pdf(claim)


# --- many notices in one file ------------------------------------------------------------------


def test_three_notices_print_as_one_file_each_on_its_own_pages(approved, rejected, world):
    other = enroll(world.member_b, catalog_version("jilin-allowance-2020"))
    third = decided(
        other,
        approved_amount=Decimal("500.00"),
        proposal=proposal("500.00", ("住院津贴 10天 × 50元", "500.00")),
    )
    claims = Claim.objects.filter(pk__in=[approved.pk, rejected.pk, third.pk]).order_by("number")

    pdf = decision_notices_pdf(
        claims.select_related("union", "enrollment__member", "enrollment__plan_version__plan")
    )

    pages = pdf_pages(pdf)
    assert len(pages) >= 3
    text = "".join(pages)
    for claim in (approved, rejected, third):
        assert claim.number in text
    assert "乙职工" in text
    # Every notice numbers its own pages and says which of the file it is.
    assert [page.count("第1页/共1页") for page in pages] == [1, 1, 1]
    for index, page in enumerate(pages, start=1):
        assert f"本文件第{index}份/共3份" in page


def test_a_long_notice_in_a_batch_numbers_its_own_pages(approved, enrollment):
    lines = [(f"第{i}次住院 3天 × 50元", "150.00") for i in range(1, 41)]
    long = decided(
        enrollment, approved_amount=Decimal("6000.00"), proposal=proposal("6000.00", *lines)
    )

    pages = pdf_pages(decision_notices_pdf([long, approved]))

    long_pages = [page for page in pages if long.number in page]
    count = len(long_pages)
    assert count >= 2
    for number, page in enumerate(long_pages, start=1):
        assert f"第{number}页/共{count}页" in page
    assert "第1页/共1页" in pages[-1] and approved.number in pages[-1]


def test_a_file_stops_at_its_notice_limit(approved, rejected, monkeypatch):
    monkeypatch.setattr("claims.notices.NOTICES_PER_FILE", 1)
    with pytest.raises(NoticeDataError, match="最多打印 1 份"):
        decision_notices_pdf([approved, rejected])


def test_an_empty_batch_is_refused():
    with pytest.raises(NoticeDataError):
        decision_notices_pdf([])


# --- bank transfer workbook ---------------------------------------------------------------------

HOSTILE_NAMES = (
    '=HYPERLINK("http://x.cn","看")',  # at most 30 characters, as payees are
    "+1",
    "-2",
    "@SUM(A1:A9)",
    "\t=1+1",
    "＝1+1",
)


@pytest.fixture
def batch(world, enrollment) -> PaymentBatch:
    batch = PaymentBatch.objects.create(
        number="PB2026040001",
        office=world.office,
        status=PaymentBatch.Status.OPEN,
        total=Decimal("0.00"),
        created_by=world.office_staff,
    )
    names = ["甲职工", *HOSTILE_NAMES]
    accounts = [ACCOUNT, *(f"62170000100{index:08d}" for index in range(1, len(names)))]
    total = Decimal("0.00")
    for index, name in enumerate(names):
        member = world.member_a if index == 0 else MemberFactory(union=world.unit_a)
        claim = decided(
            enrollment if index == 0 else enroll(member, catalog_version("jilin-allowance-2020")),
            approved_amount=Decimal("100.00") * (index + 1) + Decimal("0.05"),
        )
        amount = claim.approved_amount
        Payout.objects.create(
            claim=claim,
            kind=Payout.Kind.PRIMARY,
            amount=amount,
            payee_name=name,
            payee_account=accounts[index],
            status=Payout.Status.BATCHED,
            batch=batch,
            granted_by=world.office_staff,
        )
        total += amount
    secondary = Payout.objects.create(
        claim=Claim.objects.get(enrollment=enrollment),
        kind=Payout.Kind.SECONDARY,
        amount=Decimal("2000.00"),
        payee_name="甲职工",
        payee_account=ACCOUNT,
        status=Payout.Status.BATCHED,
        batch=batch,
        granted_by=world.office_staff,
    )
    batch.total = total + secondary.amount
    batch.save()
    for payout in batch.payouts.all():
        Transfer.objects.create(
            batch=batch,
            payout=payout,
            amount=payout.amount,
            payee_name=payout.payee_name,
            payee_account=payout.payee_account,
        )
    return batch


def open_sheet(data: bytes):
    workbook = load_workbook(io.BytesIO(data))
    return workbook[BANK_SHEET]


def test_bank_workbook_lists_every_payout_with_reference_and_total(batch):
    ws = open_sheet(bank_transfer_workbook(batch))

    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == BANK_HEADER
    body, total_row = rows[1:-1], rows[-1]
    assert len(body) == batch.payouts.count() == 8
    assert [row[0] for row in body] == list(range(1, 9))
    assert total_row[0] == "合计"
    assert total_row[1] == "共 8 笔"
    assert Decimal(str(total_row[3])) == batch.total
    assert sum(Decimal(str(row[3])) for row in body) == batch.total
    references = [row[4] for row in body]
    first = batch.payouts.get(kind=Payout.Kind.PRIMARY, payee_name="甲职工").claim.number
    assert f"{first} 互助保障金" in references
    assert f"{first} 二次救助金" in references
    assert all(row[5].startswith("LP") for row in body)


def test_bank_workbook_never_holds_a_formula(batch):
    ws = open_sheet(bank_transfer_workbook(batch))

    cells = [cell for row in ws.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    names = [cell.value for cell in ws["B"][1:-1]]
    for hostile in HOSTILE_NAMES:
        assert "'" + hostile in names
    assert "甲职工" in names, "ordinary names are left alone"


def test_bank_workbook_keeps_account_numbers_as_text_and_amounts_as_numbers(batch):
    ws = open_sheet(bank_transfer_workbook(batch))

    accounts = ws["C"][1:-1]
    assert all(cell.data_type == "s" and cell.number_format == "@" for cell in accounts)
    assert ACCOUNT in [cell.value for cell in accounts], "19 digits, not 6.22E+18"
    amounts = ws["D"][1:]
    assert all(isinstance(cell.value, int | float) for cell in amounts)
    assert all(cell.number_format == "#,##0.00" for cell in amounts)
    assert 100.05 in [cell.value for cell in amounts]


def test_bank_workbook_refuses_a_batch_whose_total_disagrees(batch):
    PaymentBatch.objects.filter(pk=batch.pk).update(total=Decimal("1.00"))
    batch.refresh_from_db()

    with pytest.raises(NoticeDataError, match="不一致"):
        bank_transfer_workbook(batch)
