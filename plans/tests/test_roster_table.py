"""Finding the roster table in a workbook: sheets, header row, row numbers, columns, blank rows,
and the table-level refusals (header_not_found, column_missing, column_duplicate, file_empty,
too_many_rows)."""

from __future__ import annotations

import io
import re
import time

import pytest
from openpyxl import Workbook

from plans.engine.findings import ERROR, FILE_CODES
from plans.engine.identity import id_check_digit
from plans.engine.roster import RosterFileError, check_roster
from plans.engine.roster_reader import inspect_package
from plans.tests.roster_builders import (
    COVERAGE_START,
    HEADER,
    HEADER_KEYS,
    TODAY,
    make_id,
    person,
    plan_rules,
    read_part,
    replace_parts,
    write_roster,
)


def check(source, **kwargs):
    return check_roster(
        source,
        rules=kwargs.pop("rules", None) or plan_rules(),
        plan_code="jilin-allowance-2020",
        coverage_start=COVERAGE_START,
        today=TODAY,
        **kwargs,
    )


def refused(source, **kwargs):
    started = time.perf_counter()
    with pytest.raises(RosterFileError) as caught:
        check(source, **kwargs)
    assert time.perf_counter() - started < 10
    finding = caught.value.finding
    assert finding.code in FILE_CODES and finding.level == ERROR and finding.row is None
    return finding


def test_row_numbers_are_the_workbooks_own_below_merged_title_rows(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1), person(2, phone="1")], title_rows=2)
    result = check(path)

    assert result.header_row == 3
    assert [row.row for row in result.all_rows] == [4, 5]
    assert [(f.code, f.row, f.column, f.col) for f in result.findings] == [
        ("phone_invalid", 5, "手机号码", 5)
    ]


def test_table_in_column_b_below_a_merged_title_keeps_excel_numbers(tmp_path):
    # Nothing at all in column A: the reader's data starts at B1, yet the columns and rows
    # reported are the sheet's own.
    path = write_roster(
        tmp_path / "r.xlsx", [person(1), person(2, name=None)], title_rows=1, start_col=2
    )
    result = check(path.read_bytes())
    assert result.header_row == 2
    assert result.columns["name"] == (2, "姓名")
    assert result.columns["id_number"] == (4, "身份证号")
    finding = result.findings[0]
    assert (finding.code, finding.row, finding.column, finding.col) == (
        "required_missing",
        4,
        "姓名",
        2,
    )


def test_table_at_b3_with_an_empty_row_above_the_header(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet["B1"] = "2026年度参保名单"
    sheet.merge_cells("B1:H1")
    for offset, text in enumerate(["姓名", "身份证号", "手机号", "用工形式", "医保"]):
        sheet.cell(row=3, column=2 + offset, value=text)
    good = person(1)
    sheet.append([None, good["name"], good["id_number"], good["phone"], "正式职工", "是"])
    sheet.append([None, "李四", "123", good["phone"], "正式职工", "是"])
    buffer = io.BytesIO()
    book.save(buffer)

    result = check(buffer.getvalue())

    assert result.header_row == 3
    assert [row.row for row in result.all_rows] == [4, 5]
    assert result.columns == {
        "name": (1, "姓名"),
        "id_number": (2, "身份证号"),
        "phone": (3, "手机号"),
        "employment_type": (4, "用工形式"),
        "medical_insurance": (5, "医保"),
    }
    assert [(f.code, f.row, f.col) for f in result.findings] == [("id_format", 5, 2)]


def test_blank_rows_anywhere_are_skipped(tmp_path):
    path = write_roster(
        tmp_path / "r.xlsx",
        [person(1), person(2), {"name": "   ", "note": " "}, person(3)],
        blank_rows_after=[0],
    )
    result = check(path)
    # Row 3 is empty, rows 4-5 are people, row 6 only has spaces and a serial number.
    assert [row.row for row in result.all_rows] == [2, 4, 6]
    assert result.rows == 3 and result.findings == []


def test_a_serial_number_alone_does_not_make_a_row(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1), {}, {}, {}])
    assert check(path).rows == 1


def test_header_text_ignores_spaces_and_line_breaks(tmp_path):
    header = list(HEADER)
    header[1] = "姓\u3000名"
    header[3] = " 身份证\n号码 "
    header[5] = "联系\t电话"
    path = write_roster(tmp_path / "r.xlsx", [person(1)], header=header)
    result = check(path)
    assert result.findings == []
    # Messages quote the header as matched, never with its stray spaces or line breaks.
    assert result.columns["id_number"] == (3, "身份证号码")
    assert result.columns["name"] == (1, "姓名")


@pytest.mark.parametrize(
    ("decorated", "key", "matched"),
    [
        ("*姓名", "name", "姓名"),
        ("姓名＊", "name", "姓名"),
        ("＊ 姓 名", "name", "姓名"),
        ("身份证号码（必填）", "id_number", "身份证号码"),
        ("*身份证号(必填)", "id_number", "身份证号"),
        ("手机 号码", "phone", "手机号码"),
        ("手机\n号码【必填】", "phone", "手机号码"),
        ("是否参加医保[必填]", "medical_insurance", "是否参加医保"),
        ("份数(选填)", "shares", "份数"),
        ("用工\r\n类型 *", "employment_type", "用工类型"),
    ],
)
def test_decorated_headers_are_recognised_and_quoted_as_matched(tmp_path, decorated, key, matched):
    header = list(HEADER)
    position = HEADER_KEYS.index(key)
    header[position] = decorated
    bad = {
        "name": "张1",
        "id_number": "12345",
        "phone": "123",
        "medical_insurance": "不清楚",
        "shares": "两份",
        "employment_type": "干部",
    }[key]
    path = write_roster(tmp_path / "r.xlsx", [person(1), person(2, **{key: bad})], header=header)
    result = check(path)
    assert result.columns[key] == (position, matched)
    [finding] = [f for f in result.findings if f.row == 3]
    assert finding.column == matched
    assert decorated not in finding.message or decorated == matched


@pytest.mark.parametrize(
    ("key", "alias"),
    [
        ("id_number", "公民身份号码"),
        ("id_number", "证件号码"),
        ("phone", "手机号"),
        ("employment_type", "用工形式"),
        ("occupation", "新业态类别"),
        ("medical_insurance", "是否参加职工医保"),
        ("high_risk", "是否高危"),
    ],
)
def test_every_alias_is_recognised(tmp_path, key, alias):
    header = [alias if k == key else h for h, k in zip(HEADER, HEADER_KEYS, strict=True)]
    result = check(write_roster(tmp_path / "r.xlsx", [person(1)], header=header))
    assert result.columns[key][1] == alias


def test_hidden_sheets_and_sheets_without_a_header_are_passed_over(tmp_path):
    path = write_roster(
        tmp_path / "r.xlsx",
        [person(1)],
        before=[("说明", "visible"), ("旧名单", "hidden")],
    )
    result = check(path)
    assert result.sheet_name == "参保名单" and result.rows == 1
    assert [row.name for row in result.all_rows] == [person(1)["name"]]


def test_header_below_row_10_is_not_found(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1)], title_rows=10)
    finding = refused(path)
    assert finding.code == "header_not_found"
    assert "前10行" in finding.message


def test_header_in_row_10_is_found(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1)], title_rows=9)
    assert check(path).all_rows[0].row == 11


def test_missing_required_columns_are_named(tmp_path):
    header = [h for h in HEADER if h not in ("手机号码", "用工类型")]
    keys = [k for k in HEADER_KEYS if k not in ("phone", "employment_type")]
    finding = refused(write_roster(tmp_path / "r.xlsx", [person(1)], header=header, keys=keys))
    assert (finding.code, finding.column) == ("column_missing", None)
    assert "手机号" in finding.message and "用工类型" in finding.message


def test_two_headers_for_one_column_are_column_duplicate(tmp_path):
    header = [*HEADER, "联系电话"]
    keys = [*HEADER_KEYS, "phone"]
    finding = refused(write_roster(tmp_path / "r.xlsx", [person(1)], header=header, keys=keys))
    assert (finding.code, finding.column, finding.col) == ("column_duplicate", "联系电话", 13)
    assert "手机号码" in finding.message and "联系电话" in finding.message


def test_a_header_without_rows_is_file_empty(tmp_path):
    finding = refused(write_roster(tmp_path / "r.xlsx", []))
    assert finding.code == "file_empty"


def test_a_workbook_without_any_cell_is_file_empty(tmp_path):
    buffer = io.BytesIO()
    Workbook().save(buffer)
    assert refused(buffer.getvalue()).code == "file_empty"


def test_more_rows_than_allowed_is_too_many_rows(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(i) for i in range(6)])
    assert check(path, max_rows=6).rows == 6
    finding = refused(path, max_rows=5)
    assert finding.code == "too_many_rows"
    assert "5" in finding.message


def test_full_width_digits_lower_case_x_and_spaces_are_normalised(tmp_path):
    # Find a valid ID ending in X, then type it the way a Chinese input method does.
    for serial in range(500):
        number = make_id(serial=serial)
        if number.endswith("X"):
            break
    typed = " " + number[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "x "
    result = check(
        write_roster(tmp_path / "r.xlsx", [person(1, id_number=typed, phone="１３９ 0000 0001")])
    )
    assert result.findings == []
    assert result.valid[0].id_number == number
    assert result.valid[0].phone == "13900000001"


def test_formulas_are_never_evaluated(tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1, shares="=1+1", note="=A1")])
    result = check(path)
    # openpyxl writes no cached value, so the cells read as empty: shares default to 1.
    assert result.findings == [] and result.valid[0].shares == 1 and result.valid[0].note == ""


def _formatted_to_the_last_row(source: bytes) -> bytes:
    """The sheet claims A1:M1048576 and has a styled, empty cell in the last row."""
    xml = read_part(source, "xl/worksheets/sheet1.xml")
    xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:M1048576"', xml)
    xml = xml.replace(
        b"</sheetData>",
        b'<row r="1048576" s="1" customFormat="1"><c r="M1048576" s="1"/></row></sheetData>',
    )
    return replace_parts(source, {"xl/worksheets/sheet1.xml": xml})


def test_a_sheet_formatted_to_the_last_row_reads_its_filled_rows_only(tmp_path):
    source = write_roster(tmp_path / "r.xlsx", [person(1), person(2)]).read_bytes()
    formatted = _formatted_to_the_last_row(source)
    assert b"A1:M1048576" in read_part(formatted, "xl/worksheets/sheet1.xml")
    assert inspect_package(formatted).dense_safe
    started = time.perf_counter()
    result = check(formatted)
    assert time.perf_counter() - started < 10
    assert result.rows == 2 and result.findings == []


def test_a_stray_value_far_away_is_read_without_a_dense_rectangle(tmp_path):
    source = write_roster(tmp_path / "r.xlsx", [person(1), person(2)]).read_bytes()
    xml = read_part(source, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    stray = replace_parts(source, {"xl/worksheets/sheet1.xml": xml})
    assert not inspect_package(stray).dense_safe
    result = check(stray)
    assert result.rows == 2 and result.findings == []


def test_a_stray_value_in_a_roster_column_far_down_is_a_row(tmp_path):
    source = write_roster(tmp_path / "r.xlsx", [person(1)]).read_bytes()
    xml = read_part(source, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="B1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    result = check(replace_parts(source, {"xl/worksheets/sheet1.xml": xml}))
    assert [row.row for row in result.all_rows] == [2, 1048576]
    assert {f.code for f in result.findings if f.row == 1048576} == {"required_missing"}


@pytest.mark.parametrize(
    ("cells", "dense_safe"),
    [
        (b'<c r="M200000"><v>1</v></c>', True),
        (b'<c r="XFD1048576" s="1"/>', True),
        (b'<c r="Z200000"><v>1</v></c>', False),
        (b'<c r="XFD3"><v>1</v></c><c r="A400"><v>1</v></c>', False),
        (b'<c r="A0001048576"><v>1</v></c>', False),
        (b'<c r="xfd1048576"><v>1</v></c>', False),
        (b'<c s="1" r="XFD1048576"><v>1</v></c>', False),
        (b"<c><v>1</v></c>", False),
        (b'<x:c r="XFD1048576" xmlns:x="urn:x"><x:v>1</x:v></x:c>', False),
    ],
)
def test_cells_that_could_spread_calamines_rectangle_switch_to_streaming(
    tmp_path, cells, dense_safe
):
    source = write_roster(tmp_path / "r.xlsx", [person(1)]).read_bytes()
    xml = read_part(source, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>"
    )
    assert inspect_package(replace_parts(source, {"xl/worksheets/sheet1.xml": xml})).dense_safe is (
        dense_safe
    )


def test_both_readers_give_the_same_result(tmp_path, monkeypatch):
    import plans.engine.roster as reader

    people = [
        person(1),
        person(2, phone=13900000002.0, birth_date="1988-03-20"),
        person(3, shares=1.5, id_number=1.1e17),
    ]
    path = write_roster(tmp_path / "r.xlsx", people, title_rows=2, start_col=3)
    first = check(path)
    monkeypatch.setattr(reader, "_CalamineBook", reader._OpenpyxlBook)
    second = check(path)
    assert first.findings == second.findings
    assert first.columns == second.columns
    assert [(r.row, r.id_number, r.phone, r.shares) for r in first.all_rows] == [
        (r.row, r.id_number, r.phone, r.shares) for r in second.all_rows
    ]


def test_id_check_digit_helper_matches_the_builder():
    number = make_id(serial=3)
    assert id_check_digit(number[:17]) == number[17]
