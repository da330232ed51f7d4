"""Builders for roster workbooks and for the bad files a roster upload must refuse.

Everything is generated in the test's tmp_path (or in memory): no binary fixtures. Valid people
get real IDs (GB 11643 check digit), mobile numbers and Luhn-valid bank cards.
"""

from __future__ import annotations

import datetime
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from plans.engine.identity import id_check_digit
from plans.engine.rules import PlanRules, parse_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
COVERAGE_START = datetime.date(2026, 1, 1)
TODAY = datetime.date(2026, 11, 24)

HEADER = (
    "序号",
    "姓名",
    "性别",
    "身份证号",
    "出生日期",
    "手机号码",
    "用工类型",
    "职业类别",
    "是否参加医保",
    "份数",
    "高危行业",
    "银行卡号",
    "备注",
)
# The keys of HEADER's columns, in order (None for 序号, which the roster does not read).
HEADER_KEYS = (
    None,
    "name",
    "gender",
    "id_number",
    "birth_date",
    "phone",
    "employment_type",
    "occupation",
    "medical_insurance",
    "shares",
    "high_risk",
    "bank_card",
    "note",
)


def plan_rules(code: str = "jilin-allowance-2020", **changes: Any) -> PlanRules:
    """The shipped rules of a catalog plan, optionally with parts of the JSON replaced
    (``eligibility={"age_min": 18}`` merges into that section)."""
    with open(FIXTURES / f"{code}.json", encoding="utf-8") as handle:
        rules = json.load(handle)["versions"][0]["rules"]
    for section, values in changes.items():
        if isinstance(values, dict):
            rules[section].update(values)
        else:
            rules[section] = values
    return parse_rules(rules)


def make_id(birth: datetime.date = datetime.date(1988, 3, 20), serial: int = 1, gender="M") -> str:
    """A valid 18-character ID: place 220102, the birth date, a serial whose parity is the
    gender (odd for men), and the check digit."""
    sequence = (serial % 500) * 2 + (1 if gender == "M" else 0)
    first17 = f"220102{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def luhn_card(prefix: str = "622202123456789012") -> str:
    """``prefix`` plus the Luhn check digit."""
    total = 0
    for index, char in enumerate(reversed(prefix + "0")):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return prefix + str((10 - total % 10) % 10)


def person(index: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid row for jilin-allowance-2020 starting 2026-01-01, as a dict by column key."""
    birth = overrides.pop("birth", datetime.date(1988, 3, 20))
    gender = overrides.pop("sex", "M")
    row = {
        "name": f"张{'一二三四五六七八九十'[index % 10]}",
        "gender": "男" if gender == "M" else "女",
        "id_number": make_id(birth, index, gender),
        "birth_date": None,
        "phone": f"139{index:08d}",
        "employment_type": "正式职工",
        "occupation": None,
        "medical_insurance": "是",
        "shares": 1,
        "high_risk": "否",
        "bank_card": luhn_card(f"62220212345{index:07d}"),
        "note": None,
    }
    row.update(overrides)
    return row


def write_roster(
    path: Path,
    people: Iterable[dict[str, Any]],
    *,
    header: Sequence[str] = HEADER,
    keys: Sequence[str | None] = HEADER_KEYS,
    title_rows: int = 0,
    start_col: int = 1,
    sheet_title: str = "参保名单",
    before: Sequence[tuple[str, str]] = (),
    blank_rows_after: Iterable[int] = (),
) -> Path:
    """A roster in the usual shape: optional title rows (merged across the table) above the
    header, the table starting at column ``start_col`` (1 = A). ``before`` adds sheets ahead of
    the roster as (title, state) pairs: a visible one holds only instructions, a hidden one a
    whole roster of its own (an old list someone hid), which must never be read.
    ``blank_rows_after`` leaves an empty row after the given data row indexes."""
    book = Workbook()
    first = book.active
    for title, state in before:
        extra = book.create_sheet(title, 0)
        extra.sheet_state = state
        if state == "visible":
            extra["A1"] = "填表说明：请按模板填写"
            continue
        extra.append(list(HEADER))
        old = person(99, name="旧名单")
        extra.append([1] + [old.get(key) for key in HEADER_KEYS[1:]])
    sheet = first
    sheet.title = sheet_title
    width = len(header)
    for number in range(1, title_rows + 1):
        sheet.cell(
            row=number, column=start_col, value=f"标题行{number}：2026年度职工互助保障参保名单"
        )
        sheet.merge_cells(
            start_row=number,
            start_column=start_col,
            end_row=number,
            end_column=start_col + width - 1,
        )
    header_row = title_rows + 1
    for offset, text in enumerate(header):
        sheet.cell(row=header_row, column=start_col + offset, value=text)
    row_number = header_row
    gaps = set(blank_rows_after)
    for index, data in enumerate(people):
        row_number += 1
        for offset, key in enumerate(keys):
            value = index + 1 if key is None else data.get(key)
            if value is None:
                continue
            sheet.cell(row=row_number, column=start_col + offset, value=value)
        if index in gaps:
            row_number += 1
    # Excel will not open a workbook whose active sheet is hidden.
    book.active = book.sheetnames.index(sheet_title)
    book.save(path)
    return path


# --- bad files -----------------------------------------------------------------------------


def replace_parts(source: bytes, parts: dict[str, bytes | None]) -> bytes:
    """The same zip with some parts replaced (or removed with None, or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in parts:
                data = parts[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            zout.writestr(info, zin.read(info.filename))
        for name, data in parts.items():
            if data is not None and name not in zin.namelist():
                zout.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def read_part(source: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        return archive.read(name)


def raw_zip(entries: Sequence[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip written by hand, so that headers can lie. Each entry is (name, deflated bytes,
    declared uncompressed size, declared CRC-32, compression method)."""
    out = bytearray()
    central = bytearray()
    for name, data, size, crc, method in entries:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
        )
        out += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    count = len(entries)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def deflate_stream(pattern: bytes, total: int) -> tuple[bytes, int]:
    """Raw deflate of ``pattern`` repeated to ``total`` bytes, and the CRC-32 of those bytes;
    compressed in chunks so the expanded data is never held in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = pattern * max(1, (1 << 20) // len(pattern))
    pieces = []
    written = crc = 0
    while written < total:
        piece = block[: total - written]
        pieces.append(compressor.compress(piece))
        crc = zlib.crc32(piece, crc)
        written += len(piece)
    pieces.append(compressor.flush())
    return b"".join(pieces), crc


def bomb_workbook(base: bytes, part: str, deflated: bytes, *, size: int, crc: int) -> bytes:
    """``base`` with ``part`` replaced by the given deflate stream and declared size/CRC."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        for info in archive.infolist():
            if info.filename == part:
                entries.append((part, deflated, size, crc, zipfile.ZIP_DEFLATED))
                continue
            data = archive.read(info.filename)
            packed = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            body = packed.compress(data) + packed.flush()
            entries.append((info.filename, body, len(data), zlib.crc32(data), zipfile.ZIP_DEFLATED))
    return raw_zip(entries)


# --- OLE compound files (MS-CFB) -----------------------------------------------------------

_FREE = 0xFFFFFFFF
_END = 0xFFFFFFFE
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


def compound_file(streams: Sequence[tuple[str, bytes]]) -> bytes:
    """A minimal version-3 compound file: one FAT sector, one directory sector, and the given
    streams (padded to 4,096 bytes so they live in ordinary sectors, not the mini stream).

    This is the container Excel uses for a password-protected .xlsx (streams "EncryptionInfo"
    and "EncryptedPackage") and for an old .xls (stream "Workbook").
    """
    assert len(streams) <= 3
    sector = 512
    bodies = [
        data + b"\0" * (max(4096, -(-len(data) // sector) * sector) - len(data))
        for _, data in streams
    ]
    fat = [_FAT_SECTOR, _END]
    starts = []
    for body in bodies:
        count = len(body) // sector
        first = len(fat)
        starts.append(first)
        fat.extend(first + i + 1 for i in range(count - 1))
        fat.append(_END)
    assert len(fat) <= sector // 4
    fat.extend([_FREE] * (sector // 4 - len(fat)))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, _NO_STREAM, right, child)
            + b"\0" * 16
            + struct.pack("<IQQIQ", 0, 0, 0, start, size)
        )

    directory = entry("Root Entry", 5, _NO_STREAM, 1 if streams else _NO_STREAM, _END, 0)
    for index, ((name, data), start) in enumerate(zip(streams, starts, strict=True)):
        right = index + 2 if index + 1 < len(streams) else _NO_STREAM
        directory += entry(name, 2, right, _NO_STREAM, start, len(data))
    directory = directory.ljust(sector, b"\0")

    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<108I", *([_FREE] * 108))
    )
    assert len(header) == sector
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + b"".join(bodies)


def encrypted_xlsx() -> bytes:
    """How Excel stores an .xlsx with an opening password: an OLE file whose "EncryptedPackage"
    stream holds the encrypted zip (8-byte length, then ciphertext)."""
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption"/>'
    )
    package = struct.pack("<Q", 8192) + bytes(range(256)) * 32
    return compound_file([("EncryptionInfo", info), ("EncryptedPackage", package)])


def old_xls() -> bytes:
    """An old binary workbook: an OLE file with a "Workbook" stream (BIFF8 BOF record first)."""
    bof = struct.pack("<HHHHII", 0x0809, 16, 0x0600, 0x0005, 0, 0)
    return compound_file([("Workbook", bof + b"\0" * 4000)])


# --- hostile files: inside every size limit, and still ruinous to read -----------------------

SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
CONTENT_TYPES = "[Content_Types].xml"
_RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
# A value in the sheet's last cell: calamine would allocate 16,384 x 1,048,576 cells for it.
FAR_VALUE = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def deflate_parts(
    head: bytes, pattern: bytes, count: int, tail: bytes, level: int = 6
) -> tuple[bytes, int, int]:
    """Raw deflate of ``head + pattern * count + tail``, its size and CRC-32, without ever
    holding the expanded middle in memory."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    per_block = max(1, (1 << 20) // len(pattern))
    pieces = [compressor.compress(head)]
    crc = zlib.crc32(head)
    left = count
    while left:
        n = min(left, per_block)
        block = pattern * n
        pieces.append(compressor.compress(block))
        crc = zlib.crc32(block, crc)
        left -= n
    pieces.append(compressor.compress(tail))
    crc = zlib.crc32(tail, crc)
    pieces.append(compressor.flush())
    return b"".join(pieces), len(head) + len(pattern) * count + len(tail), crc


def random_text(size: int, seed: int = 12) -> bytes:
    """Letters that deflate cannot squeeze much (about 6 bits a character)."""
    import base64
    import random

    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4 + 3))[:size]


def sheet_stored_as(
    base: bytes, name: str, *, content_type: bool = True, relationship: str = "worksheet"
) -> bytes:
    """``base`` (a ``write_roster`` workbook) with its sheet stored as part ``name`` and a value
    added in XFD1048576. The workbook's relationship (of type ``relationship``) points to the
    new name; with ``content_type`` the content-type list declares it a worksheet, otherwise
    the part is left to the defaults of its extension."""
    sheet = read_part(base, SHEET).replace(b"</sheetData>", FAR_VALUE + b"</sheetData>")
    rels = read_part(base, WORKBOOK_RELS).replace(
        b'"/xl/worksheets/sheet1.xml"', f'"/{name}"'.encode()
    )
    rels = rels.replace(
        f'"{_RELATIONSHIP}worksheet"'.encode(), f'"{_RELATIONSHIP}{relationship}"'.encode()
    )
    types = read_part(base, CONTENT_TYPES)
    if content_type:
        types = types.replace(b'"/xl/worksheets/sheet1.xml"', f'"/{name}"'.encode())
    else:
        types = types.replace(b'PartName="/xl/worksheets/sheet1.xml"', b'PartName="/gone.xml"')
    return replace_parts(
        base, {SHEET: None, name: sheet, WORKBOOK_RELS: rels, CONTENT_TYPES: types}
    )


def long_shared_string(base: bytes, size: int, references: int) -> bytes:
    """``base`` with a shared-strings part whose one string has ``size`` bytes of text, and
    ``references`` rows below the roster whose 姓名 cell refers to it.

    The text is a random 4 KB block repeated: deflate squeezes it about 100 times, under the
    ratio that marks a zip bomb, so only the string's length can give it away. (60 MB referred
    to by 60 cells is a 0.5 MB upload that made a worker take over 4 GB.)"""
    rows = b"".join(
        f'<row r="{n}"><c r="B{n}" t="s"><v>0</v></c></row>'.encode()
        for n in range(4, 4 + references)
    )
    sheet = read_part(base, SHEET).replace(b"</sheetData>", rows + b"</sheetData>")
    rels = read_part(base, WORKBOOK_RELS).replace(
        b"</Relationships>",
        f'<Relationship Id="rIdStrings" Type="{_RELATIONSHIP}sharedStrings" '
        f'Target="sharedStrings.xml"/></Relationships>'.encode(),
    )
    types = read_part(base, CONTENT_TYPES).replace(
        b"</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHARED_STRINGS_TYPE}"/>'
        "</Types>".encode(),
    )
    with_strings = replace_parts(
        base,
        {
            SHEET: sheet,
            WORKBOOK_RELS: rels,
            CONTENT_TYPES: types,
            "xl/sharedStrings.xml": b"<sst/>",
        },
    )
    block = random_text(4096)
    head = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>'
    )
    deflated, total, crc = deflate_parts(head, block, size // len(block), b"</t></si></sst>")
    return bomb_workbook(with_strings, "xl/sharedStrings.xml", deflated, size=total, crc=crc)


def wide_row(base: bytes, cells: int, *, cell: bytes = b"<c/>") -> bytes:
    """``base`` with a row of ``cells`` empty cells below the roster. A cell of random text in
    the row above keeps the sheet's compression ratio under the zip-bomb mark (20 million
    cells are then a 0.6 MB upload)."""
    sheet = read_part(base, SHEET)
    before, after = sheet.split(b"</sheetData>")
    padding = random_text(max(16 * 1024, cells * len(cell) // 140))
    head = (
        before
        + b'<row r="4"><c r="N4" t="inlineStr"><is><t>'
        + padding
        + b'</t></is></c></row><row r="5">'
    )
    deflated, total, crc = deflate_parts(head, cell, cells, b"</row></sheetData>" + after, 9)
    return bomb_workbook(base, SHEET, deflated, size=total, crc=crc)
