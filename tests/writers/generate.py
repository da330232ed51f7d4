"""Write the rosters in tests/writers/files/ with the programs clerks and web systems use.

    .venv/bin/python tests/writers/generate.py

Needs LibreOffice (``soffice``) and Gnumeric (``ssconvert``) from Debian's packages, and Node.js:
SheetJS (``xlsx``) and ExcelJS are installed from npm into tests/writers/node_modules (ignored by
git) at the versions pinned in tests/writers/package.json. The files it writes are committed, so
the tests (tests/test_writer_workbooks.py) run without any of these programs.

Every writer writes the same rosters (one sheet, header in row 1, three people):

- ``clean``: IDs and phones as text;
- ``number-ids``: IDs and phones stored as number cells, as an HR system exporting JavaScript
  numbers or a clerk typing into an unformatted column does;
- ``far-value`` and ``far-number-ids``: the same two with a stray value in Z200001, which makes
  the reader fall back to its streaming reader;
- ``decorated``: headers as units mark them (``*姓名``, ``身份证号码（必填）``, ``手机 号码``,
  a line break in ``用工类型``, ``是否参加医保【必填】``, ``份数(选填)``), and ``不清楚`` in one
  医保 cell.

Besides: the clean roster as .ods, .xls, Excel 2003 XML and CSV (LibreOffice), .xls (Gnumeric),
.xlsb (SheetJS), and two damaged copies of LibreOffice's clean .xlsx plus one with a Finder
``.DS_Store`` and ``__MACOSX`` entries inside, for the refusals and acceptances of CONTRACTS §1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
sys.path.insert(0, str(HERE.parents[1]))

from plans.engine.identity import id_check_digit  # noqa: E402

HEADER = ("姓名", "性别", "身份证号", "手机号码", "用工类型", "是否参加医保", "份数")
DECORATED = (
    "*姓名",
    "性别",
    "身份证号码（必填）",
    "手机 号码",
    "用工\n类型",
    "是否参加医保【必填】",
    "份数(选填)",
)
# The first ID is the one a real roster lost: as a double it is 220102199003070080, which is a
# valid ID too (same birth date, check digit 0), so only refusing number cells catches it.
IDS = (
    "220102199003070064",
    "220102198511200" + "23" + id_check_digit("22010219851120023"),
    "220102197807150" + "16" + id_check_digit("22010219780715016"),
)
PEOPLE = (
    ("王丽", "女", IDS[0], "13912345671", "正式职工", "是", 1),
    ("李强", "男", IDS[1], "13912345672", "合同制职工", "是", 1),
    ("赵敏", "女", IDS[2], "13912345673", "临时职工", "是", 1),
)
FAR = (200_001, 26, "备用")  # Z200001: 200,001 rows x 26 columns is beyond the dense reader.


def rosters() -> list[dict]:
    """Each roster as rows of cells: None, {"s": text} or {"n": number as text}."""

    def rows(header, numbers: bool, unreadable: bool = False) -> list[list]:
        table = [[{"s": text} for text in header]]
        for index, (name, gender, id_number, phone, kind, medical, shares) in enumerate(PEOPLE):
            if unreadable and index == 2:
                medical = "不清楚"
            table.append(
                [
                    {"s": name},
                    {"s": gender},
                    {"n": id_number} if numbers else {"s": id_number},
                    {"n": phone} if numbers else {"s": phone},
                    {"s": kind},
                    {"s": medical},
                    {"n": str(shares)},
                ]
            )
        return table

    return [
        {"name": "clean", "rows": rows(HEADER, False), "far": None},
        {"name": "number-ids", "rows": rows(HEADER, True), "far": None},
        {"name": "far-value", "rows": rows(HEADER, False), "far": FAR},
        {"name": "far-number-ids", "rows": rows(HEADER, True), "far": FAR},
        {"name": "decorated", "rows": rows(DECORATED, False, unreadable=True), "far": None},
    ]


# --- LibreOffice: from flat OpenDocument, where each cell's type is stated -------------------

_FODS = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:body><office:spreadsheet><table:table table:name="参保名单">
{rows}
</table:table></office:spreadsheet></office:body></office:document>
"""


def _fods_cell(cell) -> str:
    if cell is None:
        return "<table:table-cell/>"
    if "n" in cell:
        return (
            f'<table:table-cell office:value-type="float" office:value="{cell["n"]}">'
            f"<text:p>{cell['n']}</text:p></table:table-cell>"
        )
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in cell["s"].split("\n"))
    return f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'


def fods(roster: dict) -> str:
    lines = [
        "<table:table-row>" + "".join(map(_fods_cell, row)) + "</table:table-row>"
        for row in roster["rows"]
    ]
    if roster["far"]:
        row, col, text = roster["far"]
        gap = row - len(roster["rows"]) - 1
        lines.append(
            f'<table:table-row table:number-rows-repeated="{gap}"><table:table-cell/>'
            "</table:table-row>"
        )
        lines.append(
            f'<table:table-row><table:table-cell table:number-columns-repeated="{col - 1}"/>'
            f"{_fods_cell({'s': text})}</table:table-row>"
        )
    return _FODS.format(rows="\n".join(lines))


def soffice(sources: list[Path], target: str, outdir: Path, profile: Path) -> None:
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
    )
    extension = target.split(":", 1)[0]
    for source in sources:
        # soffice reports success even when a filter is unknown.
        if not (outdir / f"{source.stem}.{extension}").exists():
            sys.exit(f"LibreOffice did not write {source.stem}.{extension}")


def ssconvert(source: Path, target: Path, export_type: str) -> None:
    subprocess.run(
        ["ssconvert", "-T", export_type, str(source), str(target)],
        check=True,
        capture_output=True,
    )


# --- damaged and padded copies -----------------------------------------------------------------

# What Finder leaves in a folder it has shown: a "Bud1" buddy-allocator file, and the AppleDouble
# "._" files a Mac's Archive Utility adds under __MACOSX/.
DS_STORE = b"\x00\x00\x00\x01Bud1" + b"\x00" * 8 + b"\x10\x00\x00\x00\x08\x00" + bytes(range(64))
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 32


def with_extra_entries(source: Path, target: Path) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info, zin.read(info))
        z.writestr(".DS_Store", DS_STORE)
        z.writestr("xl/.DS_Store", DS_STORE)
        z.writestr("__MACOSX/._[Content_Types].xml", APPLE_DOUBLE)


def damaged(source: Path, truncated: Path, flipped: Path) -> None:
    data = source.read_bytes()
    # A download cut off: the central directory at the end is gone.
    truncated.write_bytes(data[: len(data) * 2 // 3])
    # A disk or transfer error: bytes inside the worksheet's compressed data overwritten.
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    broken = bytearray(data)
    broken[middle : middle + 16] = b"\xff" * 16
    flipped.write_bytes(bytes(broken))


def main() -> None:
    if shutil.which("soffice") is None or shutil.which("ssconvert") is None:
        sys.exit("Needs LibreOffice (soffice) and Gnumeric (ssconvert): apt-get install both.")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=HERE,
        check=True,
        capture_output=True,
    )
    FILES.mkdir(exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    specs = rosters()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        profile = work / "profile"
        sources = []
        for roster in specs:
            source = work / f"libreoffice-{roster['name']}.fods"
            source.write_text(fods(roster), encoding="utf-8")
            sources.append(source)
        soffice(sources, "xlsx:Calc MS Excel 2007 XML", FILES, profile)
        soffice(sources, "ods", work, profile)
        for roster in specs:
            ods = work / f"libreoffice-{roster['name']}.ods"
            ssconvert(ods, FILES / f"gnumeric-{roster['name']}.xlsx", "Gnumeric_Excel:xlsx2")

        clean = work / "libreoffice-clean.fods"
        shutil.copy(work / "libreoffice-clean.ods", FILES / "libreoffice-clean.ods")
        soffice([clean], "xls:MS Excel 97", FILES, profile)
        soffice([clean], "xml:MS Excel 2003 XML", FILES, profile)
        (FILES / "libreoffice-clean.xml").rename(FILES / "libreoffice-clean-2003.xml")
        soffice([clean], "csv:Text - txt - csv (StarCalc):44,34,76", FILES, profile)
        ssconvert(
            work / "libreoffice-clean.ods",
            FILES / "gnumeric-clean.xls",
            "Gnumeric_Excel:excel_biff8",
        )

        spec = {
            "rosters": specs,
            "sheetjs_only": [
                {
                    "name": "clean",
                    "rows": specs[0]["rows"],
                    "far": None,
                    "bookType": "xlsb",
                    "extension": "xlsb",
                },
            ],
        }
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        subprocess.run(["node", str(HERE / "write.js"), str(spec_path), str(FILES)], check=True)

    base = FILES / "libreoffice-clean.xlsx"
    with_extra_entries(base, FILES / "mac-finder-entries.xlsx")
    damaged(base, FILES / "damaged-truncated.xlsx", FILES / "damaged-bytes.xlsx")
    for path in sorted(FILES.iterdir()):
        print(f"{path.stat().st_size:>8}  {path.name}")


if __name__ == "__main__":
    main()
