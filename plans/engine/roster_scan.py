"""Measuring worksheets and shared strings without parsing them: what reading them would cost.

``plans.engine.roster_reader`` inflates each part of an uploaded workbook itself and feeds the
bytes, chunk by chunk, to one of these scans. They decide whether the fast reader (calamine,
which holds a sheet as a dense rectangle and copies a shared string into every cell that refers
to it) may read the file in bounded memory, and they refuse what no real roster holds: a shared
string longer than Excel lets a cell be, a row with more tags or XML than Excel's 16,384 columns
could fill. Bytes only, no XML parser, so that a hostile file costs them no more than its size.

No Django here.
"""

from __future__ import annotations

import re
from collections import Counter

from plans.engine.findings import RosterFileError

# Cells in calamine's dense rectangle (about 32 bytes each) before openpyxl is used instead.
DENSE_CELL_LIMIT = 5_000_000
# Text calamine would copy for shared-string references (it copies the string for every cell
# that refers to it) before openpyxl, which shares one copy, is used instead.
DENSE_TEXT_LIMIT = 256 * 1024 * 1024
# Excel holds at most 32,767 characters in a cell. A shared string (``<si>``) of more XML than
# this is beyond that in any encoding, rich-text markup included.
MAX_STRING_XML = 256 * 1024
# One row of a worksheet: Excel has 16,384 columns, and a cell is written with a few tags
# (``<c>``, ``<v>``, ``</v>``, ``</c>``; six for an inline string), so no row Excel can hold comes
# near these. Tags are counted (every "<"), start and end alike.
MAX_ROW_TAGS = 16_384 * 16
MAX_ROW_BYTES = 8 * 1024 * 1024
# Text of a cell longer than this is cut when the rows are taken (``plans.engine.roster``); the
# scan says whether any cell may be that long, so that real rosters skip the cutting.
VALUE_MAX_CHARS = 256

COPY_TO_NEW = "请在Excel中把名单复制到新的工作簿，保存为.xlsx后再上传。"
_LONG_TEXT = (
    "文件中有单元格的文字超过了Excel允许的长度（每个单元格最多32767个字），"
    "文件展开后的内容超出了参保名单可能的大小，出于安全原因不予读取。" + COPY_TO_NEW
)
_WIDE_ROW = (
    "文件中有一行的单元格或内容远远超过Excel一行能容纳的数量（每行最多16384列），"
    "文件展开后的内容超出了参保名单可能的大小，出于安全原因不予读取。" + COPY_TO_NEW
)


def _refuse(code: str, message: str) -> RosterFileError:
    return RosterFileError(code, message)


class Scan:
    """What ``roster_reader`` feeds a part's inflated bytes to, chunk by chunk."""

    unusual: bool

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


_STRING = b"<si>"
_PREFIXED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


class StringsScan(Scan):
    """How long each shared string is, without parsing the XML.

    calamine keeps every shared string and copies it into each cell that refers to it, so one
    long string referred to by many cells multiplies. Each string (from its ``<si>`` to the
    next) may have at most ``MAX_STRING_XML`` bytes, or the file is refused. Strings longer than
    ``_SHORT_STRING`` are remembered by their index, so the sheet scan can add up the text its
    references would copy; of the others only the longest matters.

    Several parts may be scanned (each reader finds the shared strings its own way); for each
    index the longest string of any of them counts.
    """

    def __init__(self) -> None:
        self.unusual = False
        self.longest = 0
        self.longest_short = 0
        self.long: dict[int, int] = {}
        self.start_part()

    def start_part(self) -> None:
        self._count = 0
        self._open: int | None = None  # bytes so far of the string not yet closed
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        buffer = self._carry + chunk if self._carry else chunk
        # Cut before the last "<", so that no tag is split between two bodies.
        cut = buffer.rfind(b"<")
        if cut <= 0:
            self._carry = b""
            self._measure(buffer)
        else:
            self._carry = buffer[cut:]
            self._measure(buffer[:cut])

    def finish(self) -> None:
        if self._carry:
            self._measure(self._carry)
        self._carry = b""
        if self._open is not None:
            self._closed_size(self._open)
        self._open = None

    def _measure(self, body: bytes) -> None:
        if body.count(b"<si") == body.count(_STRING) and b":si" not in body:
            pieces = body.split(_STRING)
        else:
            pieces = _PREFIXED_STRING.split(body)
        if len(pieces) == 1:
            if self._open is not None:
                self._open += len(body)
                if self._open > MAX_STRING_XML:
                    raise _refuse("file_too_large", _LONG_TEXT)
            return
        # The first piece ends the open string (or is the part's header); the last one opens
        # a string that the next body continues; those between are whole strings.
        closed = pieces[1:-1]
        if self._open is not None:
            self._closed_size(self._open + len(pieces[0]))
        self._closed(closed)
        self._open = len(pieces[-1])

    def _closed(self, strings: list[bytes]) -> None:
        """Record the next whole strings, in order."""
        if strings:
            self._record(max(map(len, strings)), strings)

    def _closed_size(self, size: int) -> None:
        """Record the next string, of which only the size is known."""
        self._record(size, [size])

    def _record(self, longest: int, strings: list) -> None:
        first = self._count
        self._count += len(strings)
        if longest > MAX_STRING_XML:
            raise _refuse("file_too_large", _LONG_TEXT)
        self.longest = max(self.longest, longest)
        if longest <= _SHORT_STRING:
            self.longest_short = max(self.longest_short, longest)
            return
        # Some are long: only now is each string looked at in Python.
        for index, string in enumerate(strings, start=first):
            size = string if type(string) is int else len(string)
            if size > _SHORT_STRING:
                if size > self.long.get(index, 0):
                    self.long[index] = size
            elif size > self.longest_short:
                self.longest_short = size


_SHORT_STRING = 64
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>/]")
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s>/]")
# A valued cell (not self-closing) in a row of five or more significant digits.
_FAR_ROW = re.compile(rb'<c r="[A-Z]+0*([1-9][0-9]{4,})"[^>]*(?<!/)>')
# A cell tag whose first attribute is not an upper-case A1 reference.
_ODD_CELL = re.compile(rb'<c(?:>|/>|\s(?!r="[A-Z]))')
# A value, which for a shared-string cell is the string's index (no real one has more digits).
_VALUE = re.compile(rb"<v>\s*([0-9]{1,10})\s*</v>")
# Text longer than VALUE_MAX_CHARS between two tags (an inline string or a value).
_LONG_RUN = re.compile(rb">[^<]{%d}" % (VALUE_MAX_CHARS + 1))
# Where a row starts: as Excel writes it, and with any namespace prefix.
_ROW = re.compile(rb"<row[\s>/]")
_PREFIXED_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
# Rows up to here are not looked at one by one: they bound the rectangle well enough.
_UNCHECKED_ROWS = 9_999
# A tag longer than this is not something a spreadsheet program writes.
_MAX_CARRY = 1024 * 1024
_ROOT_SEARCH = 65536
# A piece of a row shorter than this cannot hold MAX_ROW_TAGS tags (each takes at least three
# bytes), so its tags need not be counted.
_COUNT_FROM = 3 * MAX_ROW_TAGS


class SheetScan(Scan):
    """How far the valued cells of a worksheet spread, without parsing the XML; and whether any
    row is beyond what a row of Excel can hold.

    Calamine allocates the rectangle from the first to the last valued cell. Its height is
    bounded by the highest row number of a valued cell: only cells in rows of five or more digits
    are looked at, the rows below bound it by 9,999. Its width is the highest column of a valued
    cell, found by looking only at cells right of the widest one seen so far. Values are counted
    too, so that repeating one reference cannot pile up cells either; and, when the shared
    strings include long ones, the references to those are counted, to bound the text calamine
    would copy.

    Anything unusual makes the scan give up on that, and the streaming reader is used: a cell
    written without an upper-case ``r="A1"`` reference as its first attribute, elements with a
    namespace prefix (legal, but Excel and WPS write neither), comments or CDATA in the sheet.

    Every row, usual or not, is bounded: at most ``MAX_ROW_TAGS`` tags and ``MAX_ROW_BYTES`` of
    XML, counted from one ``<row`` to the next (so what lies between rows counts too). A longer
    row is refused. (A tag hidden in a comment or a processing instruction could make a row look
    shorter than it is; the limits of the process that reads the file catch what that lets by.)

    The XML is cut just before its last ``<`` in each chunk and the rest carried into the next,
    so every tag is looked at whole, exactly once.
    """

    def __init__(self, strings: StringsScan | None = None) -> None:
        self.unusual = False
        self.values = 0
        self.max_row = 0
        self.max_col = 0
        self.long_text = False
        self._strings = strings if strings is not None and strings.long else None
        self._short = strings.longest_short if strings is not None else 0
        self._references: Counter[bytes] = Counter()
        self._started = False
        self._seen = 0
        self._carry = b""
        self._columns = self._beyond(0)
        self._rows = _ROW
        self._row_bytes = 0
        self._row_tags = 0

    @staticmethod
    def _beyond(widest: int) -> re.Pattern[bytes]:
        """Valued cells in a column right of ``widest`` (1-based): any of two or more letters,
        or a single letter after the widest one."""
        letter = chr(ord("A") + min(widest, 25)).encode()
        return re.compile(rb'<c r="([A-Z]{2,}|[' + letter + rb'-Z])[0-9]+"[^>]*(?<!/)>')

    def feed(self, chunk: bytes) -> None:
        buffer = self._carry + chunk if self._carry else chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            self._carry = buffer
            if len(buffer) > _MAX_CARRY:
                # Not something a spreadsheet program writes; still counted for the bounds.
                self.unusual = True
                self._carry = b""
                self._look(buffer)
        else:
            self._carry = buffer[cut:]
            self._look(buffer[:cut])

    def finish(self) -> None:
        if self._carry:
            self._look(self._carry)
        self._carry = b""
        self._end_row()

    def _look(self, body: bytes) -> None:
        if not self._started:
            self._seen += len(body)
            root = _ROOT.search(body)
            if root is None:
                if self._seen > _ROOT_SEARCH:
                    self.unusual = True
            elif root.group(1):
                self.unusual = True
            else:
                self._started = True
        if self.unusual:
            self._rows = _PREFIXED_ROW
        self._bound(body)
        if not self.long_text and (self.unusual or _LONG_RUN.search(body)):
            self.long_text = True
        if self.unusual or not self._started:
            return
        if b":c" in body and _PREFIXED_CELL.search(body):
            self.unusual = True
            return
        if _ODD_CELL.search(body):
            self.unusual = True
            return
        self.values += body.count(b"<v>") + body.count(b"<is>")
        if self._strings is not None:
            self._references.update(_VALUE.findall(body))
        far = _FAR_ROW.findall(body)
        if far:
            self.max_row = max(self.max_row, max(map(_row_number, far)))
        widest = self.max_col
        for letters in self._columns.findall(body):
            self.max_col = max(self.max_col, _column_number(letters))
        if self.max_col != widest:
            self._columns = self._beyond(self.max_col)

    def _bound(self, body: bytes) -> None:
        """Add the body's pieces to the rows they belong to, refusing a row beyond the bounds.

        Usually the open row and the whole body together stay within the bounds, and then no
        row in the body can exceed them: only the row left open at its end is measured.
        Otherwise each piece is: the first continues the row open at the end of the last body
        and the last opens a row, so both are always counted; a row wholly inside the body is
        counted only when it is long enough to matter."""
        size = len(body)
        if self._rows is _ROW and self._row_bytes + size <= MAX_ROW_BYTES:
            tags = body.count(b"<")
            if self._row_tags + tags <= MAX_ROW_TAGS:
                last = _last_row(body)
                if last < 0:
                    self._row_bytes += size
                    self._row_tags += tags
                else:
                    self._row_bytes = size - last
                    self._row_tags = body.count(b"<", last)
                return
        position = 0
        for found in self._rows.finditer(body):
            start = found.start()
            if start:
                self._piece(body, position, start, always=position == 0)
            self._end_row()
            position = start
        self._piece(body, position, len(body), always=True)

    def _piece(self, body: bytes, start: int, end: int, *, always: bool) -> None:
        size = end - start
        self._row_bytes += size
        if always or size > _COUNT_FROM:
            self._row_tags += body.count(b"<", start, end)
        if self._row_tags > MAX_ROW_TAGS or self._row_bytes > MAX_ROW_BYTES:
            raise _refuse("file_too_large", _WIDE_ROW)

    def _end_row(self) -> None:
        self._row_bytes = self._row_tags = 0

    def copied_text(self) -> int:
        """At most how many bytes of shared strings calamine would copy into cells."""
        total = self.values * self._short
        if self._strings is not None:
            long = self._strings.long
            for index, count in self._references.items():
                size = long.get(int(index))
                if size:
                    total += count * size
        return total

    def dense_safe(self) -> bool:
        if self.unusual:
            return False
        height = max(self.max_row, _UNCHECKED_ROWS)
        return (
            self.values <= DENSE_CELL_LIMIT
            and height * max(self.max_col, 1) <= DENSE_CELL_LIMIT
            and self.copied_text() <= DENSE_TEXT_LIMIT
        )


def _last_row(body: bytes) -> int:
    """Where the last ``<row`` start tag begins in the body, or -1."""
    end = len(body)
    while True:
        found = body.rfind(b"<row", 0, end)
        if found < 0 or _ROW.match(body, found):
            return found
        end = found


def _row_number(digits: bytes) -> int:
    """b"10001" -> 10001; a number of more digits than any sheet has rows counts as huge,
    without converting thousands of digits."""
    return int(digits) if len(digits) <= 9 else 1 << 40


def _column_number(letters: bytes) -> int:
    """b"AB" -> 28 (1-based); more letters than any sheet has columns (XFD) count as huge."""
    if len(letters) > 3:
        return 1 << 40
    number = 0
    for char in letters:
        number = number * 26 + char - 64
    return number
