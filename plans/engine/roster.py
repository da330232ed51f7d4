"""Checking a roster workbook (参保名单) against a plan version: CONTRACTS §1 and §2.

``check_roster`` takes the uploaded bytes (or a path) and returns every finding at once, so the
clerk can fix the whole file in one go. The file is refused as a whole (``RosterFileError``)
when it cannot be read as a roster at all; otherwise each non-empty row is checked on its own,
then against the other rows (duplicates, uniform shares), against enrollments already held
(``held_shares``) and, for the unit, against the plan's participation rule.

Findings come ordered by row, then by column from left to right (findings about a column the
file does not have come last in their row); the unit-level participation finding comes last.
A row is empty, and skipped, when every cell of the roster's own columns is blank: a row that
only has a pre-filled serial number (序号) is not a person.

The work is split in three modules: ``roster_reader`` judges the file before any spreadsheet
library sees it, this module finds the table and reads its rows, ``roster_check`` checks them.

The reader is python-calamine: on a 100,000-row roster it reads every cell about ten times
faster than openpyxl's read-only mode (see bench/README.md). Calamine keeps a sheet as a dense
rectangle spanning its first to last valued cell, so one stray value far away (XFD1048576)
would make it allocate gigabytes and abort the process. When the file inspection cannot rule
that out, the workbook is read with openpyxl's streaming read-only mode instead, which is slower
but never holds more than a row. Formulas are never evaluated: both readers give the value Excel
cached, and a formula without one reads as an empty cell.

Reading (inspecting the package, finding the table, taking its rows) and checking are two
steps. Given ``sandbox`` limits, the reading runs in a child process with those limits
(``plans.engine.sandbox``): whatever a hostile file does to a reader there (abort, panic, run
out of memory or time) comes back as a file-level refusal, and the caller's process never holds
more than the rows. The worker and the ``check_roster`` command always read so; tests and the
benchmark may read in-process.

No Django here: the web flow, the worker, the command line and the benchmark all call this.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from xml.etree import ElementTree

from plans.engine.columns import COLUMNS
from plans.engine.findings import ERROR, Finding
from plans.engine.money import ZERO, format_money, quantize_money
from plans.engine.roster_check import (
    KEYS,
    RosterRow,
    RowChecker,
    headcount_finding,
    participation_finding,
)
from plans.engine.roster_reader import (
    CORRUPT_MESSAGE,
    VALUE_MAX_CHARS,
    Package,
    RosterFileError,
    inspect_package,
    read_source,
)
from plans.engine.rules import PlanRules
from plans.engine.sandbox import CRASH, MEMORY, Limits, SandboxFailure, run_limited

__all__ = [
    "DEFAULT_MAX_ROWS",
    "VALUE_MAX_CHARS",
    "CheckResult",
    "Limits",
    "RosterFileError",
    "RosterRow",
    "check_roster",
]

DEFAULT_MAX_ROWS = 200_000
PROGRESS_EVERY = 2_000
HEADER_SEARCH_ROWS = 10


@dataclass
class CheckResult:
    plan: str
    rows: int
    valid_rows: int
    fee_total: Decimal
    findings: list[Finding]
    valid: list[RosterRow]
    all_rows: list[RosterRow]
    sheet_name: str
    header_row: int
    columns: dict[str, tuple[int, str]]

    def as_json(self) -> dict:
        """The object CONTRACTS §3 prints."""
        return {
            "plan": self.plan,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "fee_total": format_money(self.fee_total),
            "findings": [finding.as_json() for finding in self.findings],
        }


def check_roster(
    source: str | os.PathLike | bytes,
    *,
    rules: PlanRules,
    plan_code: str,
    coverage_start: date,
    headcount: int | None = None,
    held_shares: Callable[[list[str]], Mapping[str, int]] | None = None,
    max_bytes: int = 20 * 1024 * 1024,
    max_rows: int = DEFAULT_MAX_ROWS,
    progress: Callable[[int, int], None] | None = None,
    today: date | None = None,
    sandbox: Limits | None = None,
) -> CheckResult:
    """Read and check a roster; raise RosterFileError when the file cannot be used at all.

    ``held_shares`` is called once, with every distinct well-formed ID of the file, and returns
    the most shares each already holds in this plan on any day of the coverage period (cover
    that overlaps the period counts, whenever it starts). ``progress`` is called with
    (rows checked, rows in total) about every 2,000 rows and once at the end. With ``sandbox``,
    the file is read in a child process with those limits (see the module docstring).
    """
    data = read_source(source, max_bytes)
    if sandbox is None:
        table = read_table(data, max_bytes=max_bytes, max_rows=max_rows)
    else:
        table = read_table_isolated(data, max_bytes=max_bytes, max_rows=max_rows, limits=sandbox)
    del data
    raw_rows, table.rows = table.rows, []

    checker = RowChecker(
        rules=rules,
        coverage_start=coverage_start,
        today=today or date.today(),
        columns=table.columns,
    )
    total = len(raw_rows)
    findings: list[Finding] = []
    rows: list[RosterRow] = []
    ids: list[str | None] = []
    for index, (number, cells) in enumerate(raw_rows):
        row, valid_id = checker.check(number, cells, findings)
        rows.append(row)
        ids.append(valid_id)
        if progress is not None and (index + 1) % PROGRESS_EVERY == 0 and index + 1 < total:
            progress(index + 1, total)
    del raw_rows

    checker.check_duplicates(rows, findings)
    checker.check_uniform_shares(rows, findings)
    if held_shares is not None:
        checker.check_held(rows, ids, held_shares, findings)

    failed = {f.row for f in findings if f.level == ERROR}
    valid: list[RosterRow] = []
    fee_total = ZERO
    for row in rows:
        if row.row in failed:
            row.ok = False
            continue
        row.ok = True
        row.fee = checker.fee(row)
        fee_total += row.fee
        valid.append(row)

    findings.sort(key=_finding_order)
    participation = participation_finding(rules, headcount, len(valid))
    if participation is not None:
        findings.append(participation)
    too_many = headcount_finding(headcount, total)
    if too_many is not None:
        findings.append(too_many)
    if progress is not None:
        progress(total, total)
    return CheckResult(
        plan=plan_code,
        rows=total,
        valid_rows=len(valid),
        fee_total=quantize_money(fee_total),
        findings=findings,
        valid=valid,
        all_rows=rows,
        sheet_name=table.sheet_name,
        header_row=table.header_row,
        columns=dict(table.columns),
    )


def _finding_order(finding: Finding) -> tuple[int, int]:
    return (finding.row or 0, finding.col if finding.col is not None else 1 << 30)


# --- reading the rows ------------------------------------------------------------------------


@dataclass
class RosterTable:
    """What reading found: the table's place and columns, and its non-empty rows as
    (row number, cells in ``KEYS`` order)."""

    sheet_name: str
    header_row: int
    columns: dict[str, tuple[int, str]]
    rows: list[tuple[int, tuple]]


def read_table(data: bytes, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS) -> RosterTable:
    """Judge the file, find its table and take its rows, in this process."""
    data = read_source(data, max_bytes)
    package = inspect_package(data)
    table = open_table(data, package)
    del data
    try:
        rows = _collect_rows(table, max_rows, capped=package.long_text)
    finally:
        table.close()
    if not rows:
        raise RosterFileError(
            "file_empty",
            f"名单在第{table.header_row}行有表头，但下面没有任何人员数据。"
            "请在表头下方逐行填写参保人员后重新上传。",
        )
    return RosterTable(table.sheet_name, table.header_row, table.columns, rows)


_MEMORY_MESSAGE = (
    "读取这个文件需要的内存远远超出了参保名单可能需要的量（文件展开后的内容异常庞大），"
    "出于安全原因已停止读取。请在Excel中把名单复制到新的工作簿，只保留名单本身，"
    "保存为.xlsx后再上传。"
)
_TIME_MESSAGE = (
    "读取这个文件用的时间远远超出了参保名单可能需要的时间（文件展开后的内容异常庞大或异常复杂），"
    "出于安全原因已停止读取。请在Excel中把名单复制到新的工作簿，只保留名单本身，"
    "保存为.xlsx后再上传。"
)
_CRASH_MESSAGE = (
    "读取这个文件时，读取程序出错停止了：文件可能已损坏，或者结构异常。"
    "请在Excel中打开文件，把名单复制到新的工作簿并保存为.xlsx后再上传；如果仍然不行，"
    "请把文件交给办事处。"
)


def read_table_isolated(
    data: bytes, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS, limits: Limits
) -> RosterTable:
    """``read_table`` in a child process with ``limits``; whatever stops the child is a
    file-level refusal (``file_too_large`` for memory and time, ``file_corrupt`` otherwise)."""
    try:
        answer = run_limited(
            "plans.engine.roster:_read_table_answer",
            data,
            max_bytes=max_bytes,
            max_rows=max_rows,
            limits=limits,
            # The fast reader's library is loaded before the limits; openpyxl, rarely needed,
            # only when it is.
            preload=("python_calamine",),
        )
    except SandboxFailure as failure:
        if failure.kind == MEMORY:
            raise RosterFileError("file_too_large", _MEMORY_MESSAGE) from failure
        if failure.kind == CRASH:
            raise RosterFileError("file_corrupt", _CRASH_MESSAGE) from failure
        raise RosterFileError("file_too_large", _TIME_MESSAGE) from failure
    if "refused" in answer:
        code, message, column, col = answer["refused"]
        raise RosterFileError(code, message, column=column, col=col)
    sheet_name, header_row, columns, rows = answer["table"]
    return RosterTable(
        sheet_name, header_row, {key: tuple(where) for key, where in columns.items()}, rows
    )


def _read_table_answer(data: bytes, *, max_bytes: int, max_rows: int) -> dict:
    """The child's side of ``read_table_isolated``: plain values only."""
    try:
        table = read_table(data, max_bytes=max_bytes, max_rows=max_rows)
    except RosterFileError as refused:
        finding = refused.finding
        return {"refused": (finding.code, finding.message, finding.column, finding.col)}
    return {"table": (table.sheet_name, table.header_row, table.columns, table.rows)}


def _collect_rows(table: Table, max_rows: int, *, capped: bool = False) -> list[tuple[int, tuple]]:
    """The non-empty rows as (row number, cells in ``KEYS`` order), refusing too many.

    With ``capped`` (the file may hold text longer than ``VALUE_MAX_CHARS``), long values are
    cut to that length."""
    # A missing column reads the None appended to every row, so one itemgetter serves all.
    positions = [
        table.columns[key][0] - table.offset if key in table.columns else -1 for key in KEYS
    ]
    take = itemgetter(*positions)
    rows: list[tuple[int, tuple]] = []
    for number, values in table.rows:
        values = list(values) if type(values) is not list else values
        values.append(None)
        cells = take(values)
        if _is_blank(cells):
            continue
        if len(rows) >= max_rows:
            raise RosterFileError(
                "too_many_rows",
                f"名单超过{max_rows}行，超出一次上传的上限。请把名单分成几个文件，分批上传。",
            )
        if capped:
            cells = _capped(cells)
        rows.append((number, cells))
    return rows


def _capped(cells: tuple) -> tuple:
    for value in cells:
        if type(value) is str and len(value) > VALUE_MAX_CHARS:
            break
    else:
        return cells
    return tuple(_cap(value) if type(value) is str else value for value in cells)


def _cap(value: str) -> str:
    """The text trimmed and cut to VALUE_MAX_CHARS characters, with "…" after it. No roster
    value is valid beyond that (a name has at most 30 characters, an ID 18), so a real roster
    reads the same; a hostile one cannot make each row, and each message quoting a value, huge."""
    if len(value) <= VALUE_MAX_CHARS:
        return value
    value = value.strip()
    return value if len(value) <= VALUE_MAX_CHARS else value[:VALUE_MAX_CHARS] + "…"


def _is_blank(cells: Sequence[object]) -> bool:
    for value in cells:
        if value is None or value == "":
            continue
        if type(value) is str and not value.strip():
            continue
        return False
    return True


# --- finding the table ------------------------------------------------------------------------

_ALIAS_TO_KEY = {name: column.key for column in COLUMNS for name in column.names}
_REQUIRED = tuple(column.key for column in COLUMNS if column.required)
_HEADER_SPACE = re.compile(r"\s+")
# Units decorate headers: "*姓名" or "姓名＊" for a required column, "身份证号码（必填）",
# "份数(选填)", "是否参加医保【必填】" for a note. Both are taken off, in any order.
_HEADER_MARK = re.compile(r"^[*＊]+|[*＊]+$")
_HEADER_NOTE = re.compile(r"(?:（[^（）]*）|\([^()]*\)|【[^【】]*】|\[[^\[\]]*\])$")


def _reader_errors() -> tuple[type[BaseException], ...]:
    """What the spreadsheet libraries raise for a file that passed inspection but still cannot
    be read. Only these become ``file_corrupt``; anything else is a bug and propagates."""
    import python_calamine
    from openpyxl.utils.exceptions import InvalidFileException

    return (
        python_calamine.CalamineError,
        InvalidFileException,
        ElementTree.ParseError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        OSError,
    )


@dataclass
class Table:
    """The roster table: where its header is, which column holds what, and its data rows.

    ``rows`` yields ``(row_number, values)``; ``values[i]`` is the cell at 0-based sheet column
    ``offset + i``. ``close`` releases the reader's memory.
    """

    sheet_name: str
    header_row: int
    columns: dict[str, tuple[int, str]]
    offset: int
    rows: Iterator[tuple[int, Sequence[object]]]
    close: Callable[[], None]


def _refuse(code: str, message: str, **kwargs) -> RosterFileError:
    return RosterFileError(code, message, **kwargs)


def open_table(data: bytes, package: Package) -> Table:
    """The first visible worksheet with a header row, ready to iterate its data rows."""
    reader = _CalamineBook if package.dense_safe else _OpenpyxlBook
    errors = _reader_errors()
    try:
        book = reader(data)
        sheets = list(book.sheets())
    except errors as exc:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE) from exc
    any_content = False
    for sheet in sheets:
        try:
            head = sheet.head(HEADER_SEARCH_ROWS)
            any_content = any_content or bool(head) or sheet.has_cells()
        except errors as exc:
            book.close()
            raise _refuse("file_corrupt", CORRUPT_MESSAGE) from exc
        found = _find_header(head)
        if found is None:
            continue
        header_row, columns = found
        width = max(col for col, _ in columns.values()) + 1
        return Table(
            sheet_name=sheet.name,
            header_row=header_row,
            columns=columns,
            offset=sheet.offset,
            rows=_guarded(sheet.rows_after(header_row, width), errors),
            close=book.close,
        )
    book.close()
    if not any_content:
        raise _refuse(
            "file_empty", "工作簿中没有任何内容。请在参保名单模板中填写人员信息并保存后重新上传。"
        )
    raise _refuse(
        "header_not_found",
        "在工作表前10行中没有找到表头：表头行至少要有“姓名”和“身份证号”两列。"
        "请使用参保名单模板，把表头放在前10行内；隐藏的工作表不会被读取。",
    )


def _guarded(rows: Iterator, errors: tuple[type[BaseException], ...]) -> Iterator:
    """The streaming reader parses as it goes, so a broken row can still surface here."""
    try:
        yield from rows
    except errors as exc:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE) from exc


def header_text(value: object) -> str:
    """A header as matched: without spaces and line breaks, required marks and a trailing
    bracketed note ("手机 号码" -> "手机号码", "*身份证号码（必填）" -> "身份证号码")."""
    text = _HEADER_SPACE.sub("", value if isinstance(value, str) else str(value))
    while True:
        bare = _HEADER_NOTE.sub("", _HEADER_MARK.sub("", text))
        if bare == text or not bare:
            return bare or text
        text = bare


def _header_key(value: object) -> str | None:
    if value is None:
        return None
    return _ALIAS_TO_KEY.get(header_text(value))


def _find_header(
    head: list[tuple[int, dict[int, object]]],
) -> tuple[int, dict[str, tuple[int, str]]] | None:
    """The first row holding the name and ID columns, with every known column of it."""
    for row_number, cells in head:
        keys = {col: _header_key(value) for col, value in cells.items()}
        found = set(keys.values())
        if "name" not in found or "id_number" not in found:
            continue
        columns: dict[str, tuple[int, str]] = {}
        for col in sorted(keys):
            key = keys[col]
            if key is None:
                continue
            text = header_text(cells[col])
            if key in columns:
                first_col, first_text = columns[key]
                raise _refuse(
                    "column_duplicate",
                    f"表头中第{column_letter(first_col)}列“{first_text}”和第{column_letter(col)}列"
                    f"“{text}”是同一项内容，只能保留一列。请删除或改名其中一列后重新上传。",
                    column=text,
                    col=col,
                )
            columns[key] = (col, text)
        missing = [key for key in _REQUIRED if key not in columns]
        if missing:
            listed = "、".join(_describe_column(key) for key in missing)
            raise _refuse(
                "column_missing",
                f"表头（第{row_number}行）缺少必填的列：{listed}。"
                "请按参保名单模板补上这些列并填写内容后重新上传。",
            )
        return row_number, columns
    return None


def _describe_column(key: str) -> str:
    first, *others = next(column.names for column in COLUMNS if column.key == key)
    if not others:
        return f"“{first}”"
    return f"“{first}”（也可写作{'、'.join(f'“{o}”' for o in others)}）"


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- the two readers ---------------------------------------------------------------------------


class _CalamineSheet:
    def __init__(self, sheet) -> None:
        self._sheet = sheet
        self.name: str = sheet.name
        # Calamine returns the rectangle from the first used cell, not from A1; its start is
        # the 0-based (row, column) of that corner, so row numbers are start_row + i + 1.
        start = sheet.start
        self._row0, self.offset = start if start is not None else (0, 0)

    def has_cells(self) -> bool:
        return self._sheet.height > 0

    def head(self, limit: int) -> list[tuple[int, dict[int, object]]]:
        head = []
        for index, values in enumerate(self._sheet.iter_rows()):
            number = self._row0 + index + 1
            if number > limit:
                break
            cells = {self.offset + i: v for i, v in enumerate(values) if v != "" and v is not None}
            if cells:
                head.append((number, cells))
        return head

    def rows_after(self, header_row: int, width: int) -> Iterator[tuple[int, Sequence[object]]]:
        skip = header_row - self._row0
        for index, values in enumerate(self._sheet.iter_rows()):
            if index >= skip:
                yield self._row0 + index + 1, values


class _CalamineBook:
    def __init__(self, data: bytes) -> None:
        import python_calamine

        self._module = python_calamine
        self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))

    def sheets(self) -> Iterator[_CalamineSheet]:
        pc = self._module
        for meta in self._book.sheets_metadata:
            worksheet = meta.typ == pc.SheetTypeEnum.WorkSheet
            if worksheet and meta.visible == pc.SheetVisibleEnum.Visible:
                yield _CalamineSheet(self._book.get_sheet_by_name(meta.name))

    def close(self) -> None:
        self._book.close()


class _OpenpyxlSheet:
    offset = 0

    def __init__(self, sheet) -> None:
        self._sheet = sheet
        self.name: str = sheet.title
        # The <dimension> element may claim A1:XFD1048576; rows are streamed as they come.
        sheet.reset_dimensions()

    def has_cells(self) -> bool:
        return any(
            any(v is not None and v != "" for v in row)
            for row in self._sheet.iter_rows(values_only=True)
        )

    def head(self, limit: int) -> list[tuple[int, dict[int, object]]]:
        head = []
        rows = self._sheet.iter_rows(min_row=1, max_row=limit, values_only=True)
        for number, values in enumerate(rows, start=1):
            cells = {i: v for i, v in enumerate(values) if v != "" and v is not None}
            if cells:
                head.append((number, cells))
        return head

    def rows_after(self, header_row: int, width: int) -> Iterator[tuple[int, Sequence[object]]]:
        rows = self._sheet.iter_rows(
            min_row=header_row + 1, min_col=1, max_col=width, values_only=True
        )
        yield from enumerate(rows, start=header_row + 1)


class _OpenpyxlBook:
    def __init__(self, data: bytes) -> None:
        import openpyxl

        self._book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )

    def sheets(self) -> Iterator[_OpenpyxlSheet]:
        for sheet in self._book.worksheets:
            if sheet.sheet_state == "visible":
                yield _OpenpyxlSheet(sheet)

    def close(self) -> None:
        self._book.close()
