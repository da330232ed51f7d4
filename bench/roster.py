"""Benchmark: reading and checking roster workbooks (targets in bench/README.md).

    .venv/bin/python bench/roster.py

Builds (once, cached under data/bench/) a valid 100,000-row roster for jilin-allowance-2020 with
openpyxl's write-only mode, and a 50-row roster whose sheet is formatted down to row 1,048,576.
Then prints the file sizes; the time openpyxl read-only and python-calamine take just to read
every cell value of the big file; the end-to-end time of check_roster (bytes in, CheckResult
out; median of 3 runs) with the peak resident memory of the process; and the end-to-end time of
the formatted file. Every measurement runs in a fresh Python process, so that one cannot warm
or bloat another.
"""

from __future__ import annotations

import datetime
import json
import random
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "data" / "bench"
BIG = DATA / "roster-100000.xlsx"
FORMATTED = DATA / "roster-50-formatted-1048576.xlsx"
ROWS = 100_000
LAST_ROW = 1_048_576
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
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TYPES = ("正式职工", "合同制职工", "临时职工", "新就业形态劳动者")
PLACES = ("220102", "220104", "220105", "220106", "220112", "220182", "110105", "370302")


def _luhn(prefix: str) -> str:
    total = 0
    for index, char in enumerate(reversed(prefix + "0")):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return prefix + str((10 - total % 10) % 10)


def _people(count: int, seed: int = 2026):
    """Valid members of jilin-allowance-2020 for a 2026-01-01 start: ages 20-58, distinct IDs."""
    from plans.engine.identity import id_check_digit

    rnd = random.Random(seed)
    seen: set[str] = set()
    first_day = datetime.date(1968, 1, 2).toordinal()
    last_day = datetime.date(2005, 12, 31).toordinal()
    index = 0
    while index < count:
        birth = datetime.date.fromordinal(rnd.randint(first_day, last_day))
        first17 = f"{rnd.choice(PLACES)}{birth:%Y%m%d}{rnd.randint(0, 999):03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        index += 1
        number = first17 + id_check_digit(first17)
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2)))
        yield [
            index,
            name,
            "男" if int(number[16]) % 2 else "女",
            number,
            birth,
            f"1{rnd.choice('3456789')}{rnd.randint(0, 999_999_999):09d}",
            rnd.choice(TYPES),
            None,
            "是" if rnd.random() < 0.95 else "否",
            1,
            "否",
            _luhn(f"622202{rnd.randint(0, 10**12 - 1):012d}"),
            None,
        ]


def _write(path: Path, count: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("参保名单")
    sheet.append(["2026年度在职职工住院津贴综合互助保障参保名单"])
    sheet.append(["单位（盖章）：某某有限公司工会", None, None, None, None, "填表日期：2025-12-01"])
    sheet.append(list(HEADER))
    for row in _people(count):
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    book.save(tmp)
    tmp.replace(path)


def _write_formatted(path: Path) -> None:
    """50 people, then every row down to 1,048,576 formatted: the sheet claims A1:M1048576,
    its columns carry a style, and each empty row is written as Excel writes a formatted row
    (``<row r=".." s=".." customFormat="1" ht=".." customHeight="1"/>``)."""
    small = path.with_suffix(".small.xlsx")
    _write(small, 50)
    with zipfile.ZipFile(small) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    # openpyxl's write-only mode writes no <dimension>; it belongs right before <sheetViews>.
    xml = xml.replace("<sheetViews>", '<dimension ref="A1:M1048576"/><sheetViews>', 1)
    xml = xml.replace(
        "<sheetData>",
        '<cols><col min="1" max="13" width="14" style="1" customWidth="1"/></cols><sheetData>',
        1,
    )
    empty = "".join(
        f'<row r="{number}" s="1" customFormat="1" ht="20" customHeight="1"/>'
        for number in range(54, LAST_ROW + 1)
    )
    xml = xml.replace("</sheetData>", empty + "</sheetData>")
    parts[name] = xml.encode()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
        for part, data in parts.items():
            target.writestr(part, data)
    tmp.replace(path)
    small.unlink()


def _measure(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object."""
    # The code is this file's own and the arguments are paths it built: nothing untrusted.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


# Peak memory is the kernel's high-water mark of this process's resident set (VmHWM). It is
# not getrusage's ru_maxrss: Linux carries that over from the parent through fork and exec, so
# a child of this (large) benchmark process would report the parent's peak.
_PRELUDE = """
import io, json, sys, time
sys.path.insert(0, ".")
def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
"""

_OPENPYXL = (
    _PRELUDE
    + """
import openpyxl
started = time.perf_counter()
book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
cells = sum(len(row) for row in book.worksheets[0].iter_rows(values_only=True))
print(json.dumps({"seconds": time.perf_counter() - started, "cells": cells, "peak_mb": peak_mb()}))
"""
)

_CALAMINE = (
    _PRELUDE
    + """
import python_calamine
started = time.perf_counter()
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
cells = sum(len(row) for row in book.get_sheet_by_index(0).iter_rows())
print(json.dumps({"seconds": time.perf_counter() - started, "cells": cells, "peak_mb": peak_mb()}))
"""
)

_CHECK = (
    _PRELUDE
    + """
import datetime
from plans.engine.roster import check_roster
from plans.engine.rules import parse_rules
with open("fixtures/plans/jilin-allowance-2020.json", encoding="utf-8") as handle:
    rules = parse_rules(json.load(handle)["versions"][0]["rules"])
data = open(sys.argv[1], "rb").read()
before = peak_mb()
started = time.perf_counter()
result = check_roster(data, rules=rules, plan_code="jilin-allowance-2020",
                      coverage_start=datetime.date(2026, 1, 1), held_shares=lambda ids: {})
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": result.rows, "valid": result.valid_rows,
                  "errors": sum(f.level == "error" for f in result.findings),
                  "fee_total": str(result.fee_total), "peak_mb": peak_mb(),
                  "before_mb": before}))
"""
)


def main() -> None:
    for path, build in ((BIG, lambda p: _write(p, ROWS)), (FORMATTED, _write_formatted)):
        if not path.exists():
            print(f"building {path.relative_to(ROOT)} ...", flush=True)
            build(path)

    print(f"file: {BIG.relative_to(ROOT)}  {BIG.stat().st_size / 1e6:.1f} MB, {ROWS:,} rows")
    with zipfile.ZipFile(BIG) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    print(f"      sheet XML {sheet.file_size / 1e6:.1f} MB inflated")

    for label, code in (("openpyxl read-only", _OPENPYXL), ("python-calamine", _CALAMINE)):
        run = _measure(code, str(BIG))
        print(
            f"bare read, {label:18s}: {run['seconds']:6.2f} s  "
            f"({run['cells']:,} cells, peak RSS {run['peak_mb']:.0f} MB)"
        )

    runs = [_measure(_CHECK, str(BIG)) for _ in range(3)]
    last = runs[-1]
    print(
        "check_roster end to end (bytes in, result out), median of 3: "
        f"{statistics.median(r['seconds'] for r in runs):.2f} s "
        f"(runs: {', '.join(f'{r["seconds"]:.2f}' for r in runs)})"
    )
    print(
        f"      rows {last['rows']:,}, valid {last['valid']:,}, errors {last['errors']}, "
        f"fee_total {last['fee_total']}"
    )
    print(
        f"      peak RSS of the process {max(r['peak_mb'] for r in runs):.0f} MB "
        f"(of which {last['before_mb']:.0f} MB before the check: interpreter, libraries, "
        "file bytes)"
    )

    with zipfile.ZipFile(FORMATTED) as archive:
        inflated = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    runs = [_measure(_CHECK, str(FORMATTED)) for _ in range(3)]
    print(
        f"file: {FORMATTED.relative_to(ROOT)}  {FORMATTED.stat().st_size / 1e6:.1f} MB "
        f"(sheet XML {inflated / 1e6:.1f} MB inflated), formatted to row {LAST_ROW:,}"
    )
    print(
        f"check_roster end to end, median of 3: "
        f"{statistics.median(r['seconds'] for r in runs):.2f} s, rows {runs[-1]['rows']}, "
        f"peak RSS {max(r['peak_mb'] for r in runs):.0f} MB"
    )


if __name__ == "__main__":
    main()
