"""Workbooks from any writer (CONTRACTS §1): files really written by LibreOffice, Gnumeric,
SheetJS and ExcelJS, read alike; files that are not .xlsx refused by what they really are.

The files in tests/writers/files/ are written by tests/writers/generate.py (see its docstring for
what each holds); they are committed, so these tests need none of those programs.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from plans.engine.findings import ERROR, WARNING
from plans.engine.roster import check_roster, read_table
from plans.engine.roster_check import KEYS
from plans.engine.roster_reader import RosterFileError, inspect_package
from plans.tests.roster_builders import COVERAGE_START, TODAY, plan_rules

FILES = Path(__file__).resolve().parent / "writers" / "files"
WRITERS = ("libreoffice", "gnumeric", "sheetjs", "exceljs")
# The IDs generate.py writes; the first, as a double, is 220102199003070080 (valid too).
IDS = ["220102199003070064", "220102198511200238", "220102197807150167"]
PLAN = "jilin-allowance-2020"
# Gnumeric writes no default cell style; openpyxl says so, and reads the file all the same.
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")


def data(name: str) -> bytes:
    return (FILES / name).read_bytes()


def check(name: str, **kwargs):
    return check_roster(
        data(name),
        rules=plan_rules(PLAN),
        plan_code=PLAN,
        coverage_start=COVERAGE_START,
        today=TODAY,
        **kwargs,
    )


def refusal(name: str):
    with pytest.raises(RosterFileError) as refused:
        check(name)
    return refused.value.finding


def streaming(name: str) -> bool:
    """Whether the file is read by the streaming fallback reader rather than calamine."""
    return not inspect_package(data(name)).dense_safe


def test_the_ids_are_the_generated_ones():
    from plans.engine.identity import validate_id_number

    assert [validate_id_number(number).number for number in IDS] == IDS
    assert int(float(IDS[0])) == 220102199003070080
    assert validate_id_number(str(int(float(IDS[0])))).birth_date.isoformat() == "1990-03-07"


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("case", ["clean", "far-value"])
def test_a_clean_roster_from_every_writer_is_accepted(writer, case):
    name = f"{writer}-{case}.xlsx"
    assert streaming(name) == (case == "far-value")
    result = check(name)
    assert result.findings == []
    assert (result.rows, result.valid_rows) == (3, 3)
    assert [row.id_number for row in result.valid] == IDS
    assert [row.phone for row in result.valid] == ["13912345671", "13912345672", "13912345673"]
    assert [row.row for row in result.valid] == [2, 3, 4]
    assert str(result.fee_total) == "330.00"


def test_sheetjs_declares_a_macro_type_it_does_not_use():
    """Why SheetJS exports were refused: every one declares ``bin`` as a macro-enabled binary
    workbook, though it holds no such part. Only a macro part or a macro-enabled main part is
    a macro-enabled workbook."""
    with zipfile.ZipFile(FILES / "sheetjs-clean.xlsx") as archive:
        types = archive.read("[Content_Types].xml").decode()
        names = archive.namelist()
    assert 'Extension="bin"' in types and "macroEnabled" in types
    assert not [name for name in names if name.endswith(".bin")]
    check("sheetjs-clean.xlsx")


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("case", ["number-ids", "far-number-ids"])
def test_a_number_cell_is_never_an_id_from_any_writer_or_reader(writer, case):
    name = f"{writer}-{case}.xlsx"
    assert streaming(name) == case.startswith("far")
    result = check(name)
    assert [(f.row, f.column, f.code, f.level) for f in result.findings] == [
        (row, "身份证号", "id_format", ERROR) for row in (2, 3, 4)
    ]
    assert all("文本格式" in f.message for f in result.findings)
    assert result.valid_rows == 0 and str(result.fee_total) == "0.00"
    # A number in a phone column is fine: 11 digits fit a double exactly.
    assert [row.phone for row in result.all_rows] == [
        "13912345671",
        "13912345672",
        "13912345673",
    ]


@pytest.mark.parametrize(
    ("writer", "stored"),
    [
        # 15 significant digits, then zeros.
        ("gnumeric", "220102199003070000"),
        # The double exactly: a valid ID of someone else, which was once accepted and charged.
        ("sheetjs", "220102199003070080"),
        ("exceljs", "220102199003070080"),
    ],
)
def test_writers_store_the_id_as_a_plain_integer_the_streaming_reader_reads_whole(writer, stored):
    """The number as these writers store it: no exponent, so the streaming reader gives an exact
    18-digit int, of the rounded number; only refusing number cells stops it."""
    name = f"{writer}-far-number-ids.xlsx"
    with zipfile.ZipFile(FILES / name) as archive:
        assert f"<v>{stored}</v>" in archive.read("xl/worksheets/sheet1.xml").decode()
    table = read_table(data(name), max_bytes=1 << 20)
    first = table.rows[0][1][KEYS.index("id_number")]
    assert type(first) is int and str(first) == stored


@pytest.mark.parametrize("writer", WRITERS)
def test_decorated_headers_are_matched_and_unreadable_values_are_value_invalid(writer):
    result = check(f"{writer}-decorated.xlsx")
    assert {key: text for key, (_, text) in result.columns.items()} == {
        "name": "姓名",
        "gender": "性别",
        "id_number": "身份证号码",
        "phone": "手机号码",
        "employment_type": "用工类型",
        "medical_insurance": "是否参加医保",
        "shares": "份数",
    }
    [finding] = result.findings
    assert (finding.row, finding.column, finding.code, finding.level) == (
        4,
        "是否参加医保",
        "value_invalid",
        ERROR,
    )
    assert "不清楚" in finding.message and "“是”或“否”" in finding.message
    assert "【必填】" not in finding.message
    assert result.valid_rows == 2


def test_stray_mac_finder_files_inside_the_zip_are_ignored():
    with zipfile.ZipFile(FILES / "mac-finder-entries.xlsx") as archive:
        assert {".DS_Store", "xl/.DS_Store", "__MACOSX/._[Content_Types].xml"} <= set(
            archive.namelist()
        )
    result = check("mac-finder-entries.xlsx")
    assert (result.findings, result.valid_rows) == ([], 3)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("libreoffice-clean.xls", "Excel 97-2003工作簿（.xls）"),
        ("gnumeric-clean.xls", "Excel 97-2003工作簿（.xls）"),
        ("sheetjs-clean.xlsb", "Excel二进制工作簿（.xlsb）"),
        ("libreoffice-clean.csv", "文本或CSV文件"),
        ("libreoffice-clean-2003.xml", "Excel 2003 XML电子表格"),
        ("libreoffice-clean.ods", "OpenDocument电子表格（.ods"),
        ("damaged-truncated.xlsx", "文件已损坏或不完整"),
        ("damaged-bytes.xlsx", "文件已损坏或不完整"),
    ],
)
def test_refusals_name_what_the_file_really_is_and_how_to_save_it(name, says):
    finding = refusal(name)
    expected = "file_corrupt" if name.startswith("damaged") else "file_not_xlsx"
    assert (finding.code, finding.level, finding.row) == (expected, ERROR, None)
    assert says in finding.message
    assert ".xlsx" in finding.message
    assert "压缩炸弹" not in finding.message and "宏" not in finding.message


def test_a_clean_roster_for_a_smaller_unit_warns_of_the_headcount():
    result = check("sheetjs-clean.xlsx", headcount=2)
    [finding] = result.findings
    assert (finding.code, finding.level, finding.row) == ("rows_exceed_headcount", WARNING, None)
    assert result.valid_rows == 3
