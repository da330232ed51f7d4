"""Benchmark: hostile roster workbooks inside every size limit (issue 12, item 1).

    .venv/bin/python bench/hostile_files.py

Target: each is refused with a file-level code in at most 10 s, with at most 300 MB of memory
above the start of the process that reads it.

The files are built in memory (plans/tests/roster_builders.py) and written to data/bench/hostile/:

- ``sheet-in-media``: the sheet stored as xl/media/sheet1.bin with a value in XFD1048576 (the
  part was never scanned; calamine asked for 512 GB and aborted the worker);
- ``sheet-named-bin``: the same as xl/worksheets/sheet1.bin;
- ``long-shared-string``: one 60 MB shared string referred to by 60 cells (a worker passed 4 GB);
- ``wide-row-1m`` and ``wide-row-20m``: a row of 1,000,000 (465 MB) and of 20,000,000 empty
  cells (the worker's memory ran out);
- ``copied-references``: a 200 KB shared string referred to by 2,000 cells (400 MB of copies for
  calamine): not refused, read by the streaming reader instead, shown for comparison.

Each case is measured in a fresh Python process, twice: checked in that process (the inspection
alone must refuse it), and checked as the worker and the command do, with the reading in a
limited child process (plans/engine/sandbox.py). Peak memory is VmHWM from /proc (the kernel's
high-water mark of a process's own resident set); "grew" is the peak minus what the process held
before the check; the child reports its own peak. Beside them, anchors: the same two ways on a
valid 2-row roster, and a bare parse of that roster with python-calamine (no check at all); and,
when bench/roster.py has built it, the valid 100,000-row roster, to show what the child process
costs a real upload.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "data" / "bench" / "hostile"

_MEASURE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from datetime import date
from plans.engine.roster import Limits, RosterFileError, check_roster
from plans.engine.sandbox import run_limited
from plans.tests.roster_builders import plan_rules

def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

path, mode = sys.argv[2], sys.argv[3]
rules = plan_rules()
data = open(path, "rb").read()
report = {}
if mode == "bare":
    import python_calamine
    before = peak_mb()
    started = time.perf_counter()
    book = python_calamine.CalamineWorkbook.from_filelike(__import__("io").BytesIO(data))
    cells = sum(len(row) for row in book.get_sheet_by_index(0).iter_rows())
    report.update(code=f"{cells} cells read")
elif mode == "child":
    # The child's own peak: the same read the sandbox does, reporting VmHWM from inside.
    before = peak_mb()
    started = time.perf_counter()
    answer = run_limited("bench.hostile_files:_child_read", data, limits=Limits())
    report.update(code=answer["code"], child_grew_mb=answer["grew_mb"])
else:
    before = peak_mb()
    started = time.perf_counter()
    try:
        result = check_roster(
            data, rules=rules, plan_code="x", coverage_start=date(2026, 1, 1),
            sandbox=Limits() if mode == "sandbox" else None,
        )
        report.update(code=f"read: {result.rows} rows, {result.valid_rows} valid")
    except RosterFileError as refused:
        report.update(code=refused.finding.code)
report.update(seconds=time.perf_counter() - started, grew_mb=peak_mb() - before)
print(json.dumps(report))
"""


def _child_read(data: bytes) -> dict:
    """Run in the sandbox's child: read as the worker does, report the child's peak."""
    from plans.engine.roster import _read_table_answer

    def peak_kb() -> int:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    before = peak_kb()
    answer = _read_table_answer(data, max_bytes=20 * 1024 * 1024, max_rows=200_000)
    code = answer["refused"][0] if "refused" in answer else f"read: {len(answer['table'][3])} rows"
    return {"code": code, "grew_mb": (peak_kb() - before) / 1024}


def _measure(path: Path, mode: str) -> dict:
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own script
        [sys.executable, "-c", _MEASURE, str(ROOT), str(path), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if done.returncode:
        return {"code": f"process ended with status {done.returncode}", "seconds": 0, "grew_mb": 0}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cases() -> dict[str, bytes]:
    from plans.tests.roster_builders import (
        long_shared_string,
        person,
        sheet_stored_as,
        wide_row,
        write_roster,
    )

    out = io.BytesIO()
    write_roster(out, [person(1), person(2)])
    base = out.getvalue()
    return {
        "valid-2-rows (anchor)": base,
        "sheet-in-media": sheet_stored_as(base, "xl/media/sheet1.bin"),
        "sheet-named-bin": sheet_stored_as(base, "xl/worksheets/sheet1.bin"),
        "long-shared-string": long_shared_string(base, 60 * 1024 * 1024, 60),
        "wide-row-1m": wide_row(base, 1_000_000),
        "wide-row-20m": wide_row(base, 20_000_000),
        "copied-references": long_shared_string(base, 200 * 1024, 2000),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cases = _cases()
    anchor = OUT / "valid-2-rows.xlsx"
    anchor.write_bytes(cases["valid-2-rows (anchor)"])
    bare = _measure(anchor, "bare")
    print(
        f"anchor: bare python-calamine parse of the valid 2-row roster: {bare['seconds']:.3f} s, "
        f"grew {bare['grew_mb']:.0f} MB ({bare['code']})"
    )
    print(
        f"{'case':24s} {'upload':>9s} {'inflated':>9s}  {'in-process':32s}  "
        f"{'sandboxed (worker, command)':40s}  child"
    )
    for name, data in cases.items():
        path = OUT / (name.split(" ")[0] + ".xlsx")
        path.write_bytes(data)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        inside = _measure(path, "inprocess")
        boxed = _measure(path, "sandbox")
        child = _measure(path, "child")
        _line(name, len(data), inflated, inside, boxed, child)
    big = ROOT / "data" / "bench" / "roster-100000.xlsx"
    if big.exists():
        with zipfile.ZipFile(big) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        measured = [_measure(big, mode) for mode in ("inprocess", "sandbox", "child")]
        _line("valid-100,000 (anchor)", big.stat().st_size, inflated, *measured)
    else:
        print("(run bench/roster.py first for the 100,000-row anchor)")


def _line(name: str, size: int, inflated: int, inside: dict, boxed: dict, child: dict) -> None:
    print(
        f"{name:24s} {size / 1024:7.0f}KB {inflated / 1e6:7.1f}MB  "
        f"{inside['code'][:14]:14s} {inside['seconds']:5.2f} s {inside['grew_mb']:4.0f} MB  "
        f"{boxed['code'][:14]:14s} {boxed['seconds']:5.2f} s parent grew "
        f"{boxed['grew_mb']:4.0f} MB  {child.get('child_grew_mb', 0):4.0f} MB"
    )


if __name__ == "__main__":
    main()
