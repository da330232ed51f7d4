"""The bad-file corpus: every file-level refusal of CONTRACTS §2, each within 10 seconds.

The dangerous files (zip bombs, entity expansion) are checked in a fresh Python process, so that
its peak memory can be measured without this test process's own allocations in the way: the
peak resident size may grow by less than 300 MB while refusing them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from plans.engine.findings import ERROR
from plans.engine.roster import VALUE_MAX_CHARS, RosterFileError, check_roster, column_letter
from plans.engine.roster_reader import MAX_UNCOMPRESSED_TOTAL, MAX_ZIP_ENTRIES, inspect_package
from plans.tests.roster_builders import (
    COVERAGE_START,
    TODAY,
    bomb_workbook,
    deflate_stream,
    encrypted_xlsx,
    long_shared_string,
    old_xls,
    person,
    plan_rules,
    raw_zip,
    read_part,
    replace_parts,
    sheet_stored_as,
    wide_row,
    write_roster,
)

REPO = Path(__file__).resolve().parents[2]
TIME_LIMIT = 10.0
MEMORY_LIMIT_MB = 300


def refusal(source, **kwargs):
    started = time.perf_counter()
    with pytest.raises(RosterFileError) as caught:
        check_roster(
            source,
            rules=plan_rules(),
            plan_code="jilin-allowance-2020",
            coverage_start=COVERAGE_START,
            today=TODAY,
            **kwargs,
        )
    assert time.perf_counter() - started < TIME_LIMIT
    finding = caught.value.finding
    assert (finding.level, finding.row) == (ERROR, None)
    assert finding.message
    return finding


# The peak is read from /proc/self/status (VmHWM, the high-water mark of this process's own
# memory) rather than getrusage's ru_maxrss, which Linux carries over from the parent (this
# test process) through fork and exec and so could hide the child's growth.
_ISOLATED = """
import json, resource, sys, time
from datetime import date
from plans.engine.roster import RosterFileError, check_roster
from plans.tests.roster_builders import plan_rules

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

rules = plan_rules()
before = peak_kb()
started = time.perf_counter()
try:
    check_roster(sys.argv[1], rules=rules, plan_code="x", coverage_start=date(2026, 1, 1))
    code = None
except RosterFileError as exc:
    code = exc.finding.code
elapsed = time.perf_counter() - started
print(json.dumps({"code": code, "seconds": elapsed, "grew_mb": (peak_kb() - before) / 1024}))
"""


def isolated_check(path: Path) -> str | None:
    """Check ``path`` in a fresh process; assert the time and memory limits; return the code of
    the refusal (None when the file was read)."""
    done = subprocess.run(
        [sys.executable, "-c", _ISOLATED, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    report = json.loads(done.stdout)
    print(path.name, report)
    assert report["seconds"] < TIME_LIMIT, report
    assert report["grew_mb"] < MEMORY_LIMIT_MB, report
    return report["code"]


@pytest.fixture
def roster(tmp_path) -> bytes:
    return write_roster(tmp_path / "roster.xlsx", [person(1), person(2)]).read_bytes()


# --- file_empty, file_too_large --------------------------------------------------------------


def test_zero_bytes_is_file_empty(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert refusal(empty).code == "file_empty"
    assert refusal(b"").code == "file_empty"


def test_size_is_checked_before_reading(tmp_path, roster):
    # A sparse 2 GB file: reading it would take long; its size alone refuses it.
    huge = tmp_path / "huge.xlsx"
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1024**3)
    finding = refusal(huge)
    assert finding.code == "file_too_large"
    assert "20.0MB" in finding.message
    assert refusal(roster, max_bytes=len(roster) - 1).code == "file_too_large"


# --- file_not_xlsx ---------------------------------------------------------------------------


def test_old_xls_is_not_xlsx():
    finding = refusal(old_xls())
    assert finding.code == "file_not_xlsx"
    assert ".xls" in finding.message


@pytest.mark.parametrize(
    "content",
    [
        "姓名,身份证号\n张三,110101199001011237\n".encode(),
        "姓名,身份证号\n张三,110101199001011237\n".encode("gb18030"),
        b"\xef\xbb\xbfname,id\n",
    ],
)
def test_csv_renamed_to_xlsx_is_not_xlsx(tmp_path, content):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(content)
    finding = refusal(path)
    assert finding.code == "file_not_xlsx"
    assert "CSV" in finding.message


def test_a_picture_is_not_xlsx():
    assert refusal(b"\x89PNG\r\n\x1a\n" + bytes(200)).code == "file_not_xlsx"


def test_a_word_document_is_not_xlsx(roster):
    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    docx = raw_zip([("[Content_Types].xml", types, len(types), zlib.crc32(types), 0)])
    finding = refusal(docx)
    assert finding.code == "file_not_xlsx"
    assert "Word" in finding.message


def test_a_zip_without_content_types_is_not_xlsx(tmp_path):
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert refusal(path).code == "file_not_xlsx"


def test_a_macro_enabled_workbook_renamed_is_not_xlsx(roster):
    types = read_part(roster, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert b"macroEnabled" in types
    xlsm = replace_parts(roster, {"[Content_Types].xml": types})
    finding = refusal(xlsm)
    assert finding.code == "file_not_xlsx"
    assert "宏" in finding.message


_BIN_DEFAULT = (
    b'<Default Extension="bin" '
    b'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
)


def _declare(roster: bytes, declaration: bytes) -> bytes:
    types = read_part(roster, "[Content_Types].xml")
    types = types.replace(b"<Default ", declaration + b"<Default ", 1)
    return replace_parts(roster, {"[Content_Types].xml": types})


def test_a_macro_type_declared_for_an_extension_no_part_has_is_no_macro(roster):
    """SheetJS declares ``bin`` so in every file it writes; no part is a .bin."""
    check_roster(
        _declare(roster, _BIN_DEFAULT),
        rules=plan_rules(),
        plan_code="jilin-allowance-2020",
        coverage_start=COVERAGE_START,
        today=TODAY,
    )


def test_a_part_declared_as_a_macro_project_under_any_name_is_not_xlsx(roster):
    declared = _declare(
        roster,
        b'<Override PartName="/xl/stuff.dat" ContentType="application/vnd.ms-office.vbaProject"/>',
    )
    finding = refusal(replace_parts(declared, {"xl/stuff.dat": bytes(64)}))
    assert finding.code == "file_not_xlsx" and "宏" in finding.message


def test_a_binary_main_part_is_named_xlsb(roster):
    types = read_part(roster, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.binary.macroEnabled.main",
    )
    finding = refusal(replace_parts(roster, {"[Content_Types].xml": types}))
    assert finding.code == "file_not_xlsx" and ".xlsb" in finding.message


def test_a_workbook_carrying_a_vba_project_is_not_xlsx(roster):
    with_vba = replace_parts(roster, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(100)})
    assert refusal(with_vba).code == "file_not_xlsx"


# --- file_encrypted --------------------------------------------------------------------------


def test_password_protected_workbook_is_file_encrypted():
    finding = refusal(encrypted_xlsx())
    assert finding.code == "file_encrypted"
    assert "密码" in finding.message


# --- file_corrupt ----------------------------------------------------------------------------


def test_truncated_zip_is_file_corrupt(roster):
    assert refusal(roster[: len(roster) // 2]).code == "file_corrupt"


def test_damaged_compressed_data_is_file_corrupt(roster):
    with zipfile.ZipFile(io.BytesIO(roster)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 20
    damaged = bytearray(roster)
    for offset in range(start, start + 40):
        damaged[offset] ^= 0x55
    assert refusal(bytes(damaged)).code == "file_corrupt"


def test_broken_xml_is_file_corrupt(roster):
    xml = read_part(roster, "xl/worksheets/sheet1.xml")
    broken = replace_parts(roster, {"xl/worksheets/sheet1.xml": xml[: len(xml) // 2]})
    assert refusal(broken).code == "file_corrupt"


def test_duplicate_part_names_are_file_corrupt(roster):
    xml = read_part(roster, "xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(io.BytesIO(roster)) as archive:
        entries = [
            (i.filename, archive.read(i.filename), i.file_size, i.CRC, 0)
            for i in archive.infolist()
        ]
    entries.append(("XL/worksheets/sheet1.xml", xml, len(xml), zlib.crc32(xml), 0))
    assert refusal(raw_zip(entries)).code == "file_corrupt"


def test_too_many_zip_entries_is_file_corrupt(roster):
    extra = {f"customXml/item{i}.xml": b"<a/>" for i in range(MAX_ZIP_ENTRIES)}
    assert refusal(replace_parts(roster, extra)).code == "file_corrupt"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


def test_entity_expansion_in_a_sheet_is_refused_before_parsing(tmp_path, roster):
    xml = read_part(roster, "xl/worksheets/sheet1.xml").replace(b"<t>", b"<t>&lol9;", 1)
    bomb = replace_parts(roster, {"xl/worksheets/sheet1.xml": BILLION_LAUGHS + xml})
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(bomb)
    assert refusal(bomb).message.count("DOCTYPE") == 1
    assert isolated_check(path) == "file_corrupt"


def test_doctype_in_content_types_is_refused(roster):
    types = read_part(roster, "[Content_Types].xml")
    types = types.replace(b"<Types", b'<!DOCTYPE Types SYSTEM "http://example.invalid/x"><Types')
    assert refusal(replace_parts(roster, {"[Content_Types].xml": types})).code == "file_corrupt"


def test_entity_declaration_in_a_utf16_part_is_refused(roster):
    part = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    ).encode("utf-16")
    finding = refusal(replace_parts(roster, {"xl/sharedStrings.xml": part}))
    assert finding.code == "file_corrupt" and "DOCTYPE" in finding.message


@pytest.fixture(scope="module")
def bomb_stream() -> tuple[bytes, int, int, bytes]:
    """Over 512 MB of cells, deflated to about 1.5 MB: what a bomb's sheet part expands to."""
    pattern = b'<c r="A1" t="inlineStr"><is><t>aaaaaaaaaa</t></is></c>'
    total = MAX_UNCOMPRESSED_TOTAL + 1024 * 1024
    head = (pattern * (4096 // len(pattern) + 1))[:4096]
    deflated, crc = deflate_stream(pattern, total)
    return deflated, total, crc, head


def test_zip_bomb_with_honest_sizes_is_refused_from_its_headers(tmp_path, roster, bomb_stream):
    deflated, total, crc, _ = bomb_stream
    bomb = bomb_workbook(roster, "xl/worksheets/sheet1.xml", deflated, size=total, crc=crc)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb)
    finding = refusal(path)
    assert finding.code == "file_corrupt" and "压缩炸弹" in finding.message
    assert isolated_check(path) == "file_corrupt"


def test_zip_bomb_refused_by_its_compression_ratio(tmp_path, roster):
    size = 64 * 1024 * 1024
    deflated, crc = deflate_stream(b" ", size)
    assert size / len(deflated) > 500
    bomb = bomb_workbook(roster, "xl/worksheets/sheet1.xml", deflated, size=size, crc=crc)
    finding = refusal(bomb)
    assert finding.code == "file_corrupt" and "压缩炸弹" in finding.message


def test_zip_bomb_whose_headers_lie_is_refused_after_the_declared_size(
    tmp_path, roster, bomb_stream
):
    # The headers claim 4 KB with the CRC of the first 4 KB; the stream expands to 513 MB.
    deflated, _, _, head = bomb_stream
    bomb = bomb_workbook(
        roster, "xl/worksheets/sheet1.xml", deflated, size=len(head), crc=zlib.crc32(head)
    )
    path = tmp_path / "liar.xlsx"
    path.write_bytes(bomb)
    finding = refusal(path)
    assert finding.code == "file_corrupt" and "压缩炸弹" in finding.message
    assert isolated_check(path) == "file_corrupt"


def test_lying_bomb_in_shared_strings_is_refused(tmp_path, roster, bomb_stream):
    deflated, _, _, head = bomb_stream
    with_strings = replace_parts(roster, {"xl/sharedStrings.xml": b"<sst/>"})
    bomb = bomb_workbook(
        with_strings, "xl/sharedStrings.xml", deflated, size=len(head), crc=zlib.crc32(head)
    )
    path = tmp_path / "strings.xlsx"
    path.write_bytes(bomb)
    assert isolated_check(path) == "file_corrupt"


def test_sparse_cells_far_apart_do_not_blow_up_memory(tmp_path, roster):
    # Two values at opposite corners of the sheet: a dense reader would allocate 17 billion
    # cells. The file is read in bounded memory, and both cells are outside the roster columns.
    xml = read_part(roster, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
    )
    path = tmp_path / "sparse.xlsx"
    path.write_bytes(replace_parts(roster, {"xl/worksheets/sheet1.xml": xml}))
    assert isolated_check(path) is None


# --- hostile files inside every size limit ----------------------------------------------------
# Each is a small upload that once ended a worker: the reader was handed a part nobody had
# looked at, or a file that expands a thousandfold once read. Each is now refused by the
# inspection, in-process, before any spreadsheet library sees it; ``isolated_check`` runs the
# check in a fresh process and asserts it stays within 10 s and 300 MB of growth (a reader
# that aborted would fail it with a non-zero exit).


@pytest.mark.parametrize(
    ("name", "content_type", "relationship"),
    [
        ("xl/media/sheet1.bin", True, "worksheet"),
        ("xl/worksheets/sheet1.bin", True, "worksheet"),
        ("xl/media/image1.png", True, "worksheet"),
        ("xl/media/sheet1.bin", False, "worksheet"),
        # Declared a picture, but named by the workbook's <sheet>: a reader opens it as a sheet.
        ("xl/media/image1.png", False, "image"),
    ],
)
def test_a_sheet_stored_where_pictures_belong_is_refused(
    tmp_path, roster, name, content_type, relationship
):
    path = tmp_path / "media.xlsx"
    path.write_bytes(
        sheet_stored_as(roster, name, content_type=content_type, relationship=relationship)
    )
    assert path.stat().st_size < 10 * 1024
    finding = refusal(path)
    assert finding.code == "file_corrupt" and "图片" in finding.message
    assert isolated_check(path) == "file_corrupt"


def test_a_sheet_wherever_its_relationship_puts_it_is_scanned(tmp_path, roster):
    # An .xml part outside xl/worksheets/ and absent from the content-type list: only the
    # workbook's relationship says it is a sheet. Its far value must keep calamine away.
    data = sheet_stored_as(roster, "xl/data/people.xml", content_type=False)
    package = inspect_package(data)
    assert package.worksheets == ["xl/data/people.xml"] and not package.dense_safe
    path = tmp_path / "moved.xlsx"
    path.write_bytes(data)
    assert isolated_check(path) is None


def test_one_long_shared_string_referred_to_by_many_cells_is_refused(tmp_path, roster):
    path = tmp_path / "strings.xlsx"
    path.write_bytes(long_shared_string(roster, 60 * 1024 * 1024, 60))
    assert path.stat().st_size < 1024 * 1024  # a small upload, under every size limit
    finding = refusal(path)
    assert finding.code == "file_too_large" and "32767" in finding.message
    assert isolated_check(path) == "file_too_large"


def test_references_calamine_would_copy_send_the_file_to_the_streaming_reader(tmp_path, roster):
    # 200 KB (within Excel's cell limit) referred to by 2,000 cells: 400 MB of copies for
    # calamine. openpyxl shares one string among all the cells, so the file reads in bounds.
    data = long_shared_string(roster, 200 * 1024, 2000)
    package = inspect_package(data)
    assert not package.dense_safe and package.long_text
    path = tmp_path / "copies.xlsx"
    path.write_bytes(data)
    assert isolated_check(path) is None


def test_a_few_long_strings_keep_the_fast_reader(roster):
    data = long_shared_string(roster, 20 * 1024, 100)
    assert inspect_package(data).dense_safe


@pytest.mark.parametrize("cells", [1_000_000, 20_000_000])
def test_a_row_of_millions_of_cells_is_refused(tmp_path, roster, cells):
    path = tmp_path / "wide.xlsx"
    path.write_bytes(wide_row(roster, cells))
    assert path.stat().st_size < 1024 * 1024
    finding = refusal(path)
    assert finding.code == "file_too_large" and "16384" in finding.message
    assert isolated_check(path) == "file_too_large"


def test_a_row_as_wide_as_excel_allows_is_read(tmp_path, roster):
    # 16,384 formatted empty cells (a row formatted to column XFD): legal, and read.
    cells = b"".join(f'<c r="{column_letter(i)}5" s="1"/>'.encode() for i in range(16_384))
    xml = read_part(roster, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>", b'<row r="5">' + cells + b"</row></sheetData>"
    )
    result = check_roster(
        replace_parts(roster, {"xl/worksheets/sheet1.xml": xml}),
        rules=plan_rules(),
        plan_code="jilin-allowance-2020",
        coverage_start=COVERAGE_START,
        today=TODAY,
    )
    assert (result.rows, result.valid_rows) == (2, 2)


def test_long_values_are_cut_before_they_are_checked_or_quoted(tmp_path):
    path = write_roster(
        tmp_path / "long.xlsx", [person(1, phone="1" * 100_000), person(2, note="备注" * 50_000)]
    )
    result = check_roster(
        path,
        rules=plan_rules(),
        plan_code="jilin-allowance-2020",
        coverage_start=COVERAGE_START,
        today=TODAY,
    )
    assert [f.code for f in result.findings] == ["phone_invalid"]
    assert len(result.findings[0].message) < VALUE_MAX_CHARS + 200
    assert len(result.all_rows[1].note) == VALUE_MAX_CHARS + 1


# --- the rest of the file-level codes, from the table ----------------------------------------


def test_every_file_code_is_exercised_somewhere():
    import plans.tests.test_roster_table as table

    sources = Path(__file__).read_text() + Path(table.__file__).read_text()
    from plans.engine.findings import FILE_CODES

    assert [code for code in FILE_CODES if f'"{code}"' not in sources] == []


@pytest.mark.parametrize(
    "reference", ["A" + "1" * 5000, "A" * 300_000 + "5"], ids=["digits", "letters"]
)
def test_a_cell_reference_beyond_any_sheet_is_judged_at_once(roster, reference):
    # Thousands of digits would make int() refuse to convert; hundreds of thousands of letters
    # would make the column arithmetic quadratic. Neither may stop or stall the inspection.
    xml = read_part(roster, "xl/worksheets/sheet1.xml").replace(
        b"</sheetData>", f'<row r="5"><c r="{reference}"><v>1</v></c></row></sheetData>'.encode()
    )
    data = replace_parts(roster, {"xl/worksheets/sheet1.xml": xml})
    assert not inspect_package(data).dense_safe
    try:
        result = check_roster(
            data,
            rules=plan_rules(),
            plan_code="jilin-allowance-2020",
            coverage_start=COVERAGE_START,
            today=TODAY,
        )
    except RosterFileError as refused:
        assert refused.finding.code == "file_corrupt"
    else:
        assert result.rows == 2


# --- damage is not a bomb ----------------------------------------------------------------------


def _central_entry(data: bytes, name: str) -> int:
    """Offset of a part's central-directory entry."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    encoded = name.encode()
    position = data.index(b"PK\x01\x02")
    while True:
        length = int.from_bytes(data[position + 28 : position + 30], "little")
        if data[position + 46 : position + 46 + length] == encoded:
            assert int.from_bytes(data[position + 42 : position + 46], "little") == (
                info.header_offset
            )
            return position
        position = data.index(b"PK\x01\x02", position + 46)


def _with_central_field(data: bytes, name: str, field: int, value: int, size: int = 4) -> bytes:
    position = _central_entry(data, name) + field
    return data[:position] + value.to_bytes(size, "little") + data[position + size :]


SHEET_PART = "xl/worksheets/sheet1.xml"


@pytest.mark.parametrize(
    ("field", "value", "size"),
    [
        (24, 300 * 1024 * 1024, 4),  # uncompressed size: beyond any ratio
        (24, 100, 4),  # uncompressed size: far smaller than the part inflates to
        (20, 7, 4),  # compressed size
        (6, 99, 2),  # "version needed to extract": zipfile cannot open the file at all
    ],
)
def test_a_damaged_central_directory_is_a_damaged_file_not_a_bomb(roster, field, value, size):
    finding = refusal(_with_central_field(roster, SHEET_PART, field, value, size))
    assert finding.code == "file_corrupt"
    assert "损坏" in finding.message and "压缩炸弹" not in finding.message


def test_a_part_whose_both_headers_understate_it_but_which_soon_ends_is_damaged(roster):
    sheet = read_part(roster, SHEET_PART)
    packed = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = packed.compress(sheet) + packed.flush()
    head = sheet[: len(sheet) // 2]
    damaged = bomb_workbook(roster, SHEET_PART, deflated, size=len(head), crc=zlib.crc32(head))
    finding = refusal(damaged)
    assert finding.code == "file_corrupt" and "压缩炸弹" not in finding.message


def test_stray_non_xml_files_inside_the_zip_are_ignored_but_xml_ones_are_still_judged(roster):
    finder = b"\x00\x00\x00\x01Bud1" + bytes(range(256))
    with_finder = replace_parts(roster, {".DS_Store": finder, "Thumbs.db": b"\xd0\xcf\x11\xe0"})
    assert inspect_package(with_finder).worksheets
    hidden = replace_parts(roster, {"notes.txt": b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"})
    assert "DOCTYPE" in refusal(hidden).message


def test_a_web_page_saved_as_excel_is_named_a_web_page():
    page = "<html><head><meta charset='utf-8'></head><body><table><tr><td>姓名</td></tr></table>"
    finding = refusal(page.encode())
    assert finding.code == "file_not_xlsx" and "网页文件" in finding.message
