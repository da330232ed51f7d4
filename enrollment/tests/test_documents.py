"""The fee notice and the certificate list of a roster, read back from the PDFs themselves."""

from __future__ import annotations

import datetime
import io
import socket
from decimal import Decimal

import pytest
from pypdf import PdfReader

from enrollment.documents import (
    DocumentDataError,
    amount_in_chinese,
    certificates_context,
    certificates_parts,
    certificates_pdf,
    fee_notice_context,
    fee_notice_number,
    fee_notice_pdf,
    office_of,
)
from enrollment.models import Enrollment, Roster
from mutualaid.pdf import StaticOnlyFetcher, render_pdf, static_dir
from plans.engine.identity import mask_id_number
from tests.factories import MemberFactory, RosterFactory, catalog_version, enroll

ISSUED = datetime.date(2026, 1, 20)
FUNDING = {
    "mode": None,
    "percent": {"unit": "60", "union": "0", "member": "40"},
    "amounts": {"subsidy": "90.00", "unit": "144.00", "union": "0.00", "member": "96.00"},
}


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # Extraction may break a line anywhere; the checks look for words, not layout.
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def roster(world) -> Roster:
    """Three people of unit A in the Jilin allowance plan: 3 × 110 yuan, 30 yuan subsidy each."""
    world.unit_a.credit_code = "91220101MA0Y4B7K1A"
    world.unit_a.save()
    version = catalog_version("jilin-allowance-2020")
    roster = RosterFactory(
        union=world.unit_a,
        plan_version=version,
        status=Roster.Status.APPROVED,
        fee_total=Decimal("330.00"),
        funding=FUNDING,
        rows_total=3,
        rows_valid=3,
        created_by=world.clerk_a,
    )
    members = [world.member_a, MemberFactory(union=world.unit_a, name="欧阳明月")]
    members.append(MemberFactory(union=world.unit_a, name="李四"))
    for member in members:
        enroll(member, version, roster=roster)
    return roster


# --- fee notice ----------------------------------------------------------------------------------


def test_fee_notice_states_unit_plan_and_amount_in_capitals(roster, world):
    pdf = fee_notice_pdf(roster, issued_on=ISSUED)

    assert pdf.startswith(b"%PDF")
    assert len(pdf) < 200 * 1024
    text = pdf_text(pdf)
    assert "缴费通知单" in text
    assert "甲单位工会" in text
    assert "91220101MA0Y4B7K1A" in text
    assert "在职职工住院津贴综合互助保障计划" in text
    assert "jilin-allowance-2020" in text
    assert "长春办事处" in text
    assert "2026年1月1日至2026年12月31日" in text
    assert "叁佰叁拾元整" in text
    assert "330.00" in text
    assert fee_notice_number(roster) in text
    assert "2026年1月20日" in text
    assert "第1页/共1页" in text


def test_fee_notice_splits_the_fee_by_payer_in_chinese(roster):
    text = pdf_text(fee_notice_pdf(roster, issued_on=ISSUED))

    assert "补贴（省直机关工会补贴）" in text
    assert "单位行政60%144.00" in text
    assert "职工个人40%96.00" in text
    # What the unit transfers leaves the subsidy out: 330 − 90.
    assert "贰佰肆拾元整" in text


def test_fee_notice_is_chinese_whatever_the_request_language(roster):
    from django.utils import translation

    with translation.override("en"):
        text = pdf_text(fee_notice_pdf(roster, issued_on=ISSUED))
    assert "单位行政" in text
    assert "Unit administration" not in text


def test_fee_notice_counts_people_and_shares_of_the_roster(roster):
    context = fee_notice_context(roster, issued_on=ISSUED)

    assert (context["people"], context["shares"]) == (3, 3)
    assert context["notice_number"] == f"JF-{roster.pk:08d}"
    assert context["office"].name == "长春办事处"
    assert [(r.payer, r.percent, r.amount_text) for r in context["funding_rows"]] == [
        ("subsidy", "—", "90.00"),
        ("unit", "60%", "144.00"),
        ("member", "40%", "96.00"),
    ]


def test_fee_notice_names_the_funding_mode(world):
    version = catalog_version("beijing-allowance-2011")
    mode = version.parsed_rules.funding.modes[0]
    roster = RosterFactory(
        union=world.unit_b,
        plan_version=version,
        fee_total=Decimal("100.00"),
        funding={
            "mode": mode.code,
            "percent": {"unit": "100", "union": "0", "member": "0"},
            "amounts": {"subsidy": "0.00", "unit": "100.00", "union": "0.00", "member": "0.00"},
        },
        created_by=world.clerk_b,
    )

    context = fee_notice_context(roster, issued_on=ISSUED)

    assert context["funding_mode"] == mode.label
    assert context["people"] == roster.rows_valid
    # Payers who carry nothing of this fee get no line.
    assert [row.payer for row in context["funding_rows"]] == ["unit"]


def test_fee_notice_refuses_a_split_that_does_not_add_up(roster):
    roster.fee_total = Decimal("340.00")

    with pytest.raises(DocumentDataError, match="不一致"):
        fee_notice_pdf(roster, issued_on=ISSUED)


def test_office_of_a_unit_is_the_root_of_its_branch(world):
    assert office_of(world.unit_c) == world.office
    assert office_of(world.office) == world.office


# --- certificates --------------------------------------------------------------------------------


def test_certificates_list_active_people_with_masked_id_numbers(roster, world):
    cancelled = MemberFactory(union=world.unit_a, name="王撤销")
    enroll(cancelled, roster.plan_version, roster=roster, status=Enrollment.Status.CANCELLED)

    pdf = certificates_pdf(roster, issued_on=ISSUED)

    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "参保凭证" in text
    assert "甲单位工会" in text
    assert "在职职工住院津贴综合互助保障计划" in text
    assert "欧阳明月" in text and "甲职工" in text
    assert "王撤销" not in text
    id_number = world.member_a.id_number
    assert mask_id_number(id_number) in text
    assert id_number not in text
    assert id_number[4:14] not in text
    assert "合计3人" in text
    assert "330.00" in text


def test_certificates_repeat_the_table_header_on_every_page(roster, world):
    version = roster.plan_version
    for n in range(120):
        enroll(MemberFactory(union=world.unit_a, name=f"职工{n}"), version, roster=roster)

    pdf = certificates_pdf(roster, issued_on=ISSUED)

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    for number, page in enumerate(reader.pages, start=1):
        text = "".join(page.extract_text().split())
        assert "序号姓名身份证号份数会费（元）保障期间" in text
        assert f"第{number}页/共{len(reader.pages)}页" in text
    assert "合计123人" in pdf_text(pdf)


def test_certificates_of_a_big_roster_come_in_parts(roster, world):
    version = roster.plan_version
    for n in range(4):
        enroll(MemberFactory(union=world.unit_a, name=f"职工{n}"), version, roster=roster)

    context = certificates_context(roster, first=3, count=2, issued_on=ISSUED)

    assert [row.number for row in context["rows"]] == [3, 4]
    assert context["part"] == {"first": 3, "last": 4, "is_whole": False}
    assert context["totals"]["people"] == 2
    assert context["overall"]["people"] == 7
    assert "第3–4人，共7人" in pdf_text(
        certificates_pdf(roster, first=3, count=2, issued_on=ISSUED)
    )


def test_certificates_parts_cover_everyone_once(roster, world):
    for n in range(4):
        enroll(
            MemberFactory(union=world.unit_a, name=f"职工{n}"), roster.plan_version, roster=roster
        )

    assert certificates_parts(roster, per_file=3) == [(1, 3), (4, 3), (7, 3)]
    assert certificates_parts(roster) == [(1, 5000)]


def test_certificates_take_a_fixed_number_of_queries(roster, world, django_assert_num_queries):
    for n in range(20):
        enroll(
            MemberFactory(union=world.unit_a, name=f"职工{n}"), roster.plan_version, roster=roster
        )
    roster = Roster.objects.select_related("union", "plan_version__plan").get(pk=roster.pk)

    # Totals, rows, office.
    with django_assert_num_queries(3):
        context = certificates_context(roster)
    assert len(context["rows"]) == 23


# --- the renderer --------------------------------------------------------------------------------


def test_renderer_embeds_the_cjk_font():
    pdf = render_pdf("pdf/base.html", {})
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"].values()
    names = [str(font.get_object()["/BaseFont"]) for font in fonts]
    assert names
    assert all("Noto-Sans-CJK-SC" in name for name in names)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "https://example.com/x.css",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "file://remote-host/static/css/portal.css",
    ],
)
def test_fetcher_refuses_anything_but_static_files(url):
    with pytest.raises(ValueError, match="refused"):
        StaticOnlyFetcher(static_dir()).fetch(url)


def test_render_pdf_never_reaches_the_network(monkeypatch):
    html = (
        '<html><head><link rel="stylesheet" href="https://example.com/x.css"></head>'
        '<body><p>你好</p><img src="http://example.com/logo.png"></body></html>'
    )
    monkeypatch.setattr("mutualaid.pdf.render_to_string", lambda name, context: html)

    def no_network(*args, **kwargs):
        raise AssertionError("the renderer opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    refused = []
    fetch = StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        try:
            return fetch(self, url, headers)
        except ValueError:
            refused.append(url)
            raise

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", spy)

    assert render_pdf("any.html", {}).startswith(b"%PDF")
    assert set(refused) == {"https://example.com/x.css", "http://example.com/logo.png"}


def test_fetcher_refuses_a_way_out_of_static():
    url = (static_dir() / ".." / "manage.py").as_uri()
    with pytest.raises(ValueError, match="refused"):
        StaticOnlyFetcher(static_dir()).fetch(url)


def test_fetcher_serves_static_files_and_data_urls():
    fetcher = StaticOnlyFetcher(static_dir())
    css = fetcher.fetch((static_dir() / "css" / "portal.css").as_uri())
    assert css.content_type == "text/css"
    assert css.read()
    assert fetcher.fetch("data:text/plain;base64,5L2g5aW9").read() == "你好".encode()


# --- amount in words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0.00", "零元整"),
        ("0", "零元整"),
        ("0.01", "壹分"),
        ("0.10", "壹角整"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("1.50", "壹元伍角整"),
        ("1.05", "壹元零伍分"),
        ("10", "壹拾元整"),
        ("10.05", "壹拾元零伍分"),
        ("15", "壹拾伍元整"),
        ("101", "壹佰零壹元整"),
        ("110", "壹佰壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("10450", "壹万零肆佰伍拾元整"),
        ("12870", "壹万贰仟捌佰柒拾元整"),
        ("100000.10", "壹拾万元零壹角整"),
        ("100000", "壹拾万元整"),
        ("1000001.00", "壹佰万零壹元整"),
        ("1000100", "壹佰万零壹佰元整"),
        ("1010000", "壹佰零壹万元整"),
        ("3300000", "叁佰叁拾万元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("110000000", "壹亿壹仟万元整"),
        ("1000000001", "壹拾亿零壹元整"),
        ("1234567890123.45", "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万零壹佰贰拾叁元肆角伍分"),
        ("123450000000", "壹仟贰佰叁拾肆亿伍仟万元整"),
        ("99999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amount_in_chinese(value, words):
    assert amount_in_chinese(Decimal(value)) == words


def test_amount_in_chinese_rounds_to_the_cent_half_up():
    assert amount_in_chinese(Decimal("2.005")) == "贰元零壹分"


@pytest.mark.parametrize("value", [Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), "abc"])
def test_amount_in_chinese_refuses_what_is_not_an_amount(value):
    with pytest.raises(ValueError):
        amount_in_chinese(value)
