"""The roster sheet of the annotated roster: its XML is streamed in 1 MB chunks and only rows
with findings are parsed, their cells given the marked formats; other sheets are copied with
their tabs unselected. Every sheet with cells loses its formulas on the way (``inert``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO

from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import range_boundaries

from enrollment.annotate.base import _R, _TAG, CHUNK, LAST_ROW, _decode, _set_attr
from enrollment.annotate.inert import inert_cells, inert_tail
from enrollment.annotate.styles import _Styles
from plans.engine.findings import ERROR, WARNING

_TAB_SELECTED = re.compile(rb"""\stabSelected=(["'])(?:1|true)\1""")


@dataclass
class _Mark:
    level: str = WARNING
    messages: list[str] = field(default_factory=list)

    def add(self, level: str, message: str) -> None:
        if level == ERROR:
            self.level = ERROR
        self.messages.append(message)


_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?(?:/>|>.*?</(?:\w+:)?row>)", re.S)
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_HAS_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is|f)\b")
# Worksheet children that must come after <legacyDrawing> (mc:AlternateContent wraps controls
# and OLE objects in files written by Excel).
_AFTER_LEGACY = {
    b"legacyDrawingHF",
    b"drawingHF",
    b"picture",
    b"oleObjects",
    b"controls",
    b"webPublishItems",
    b"tableParts",
    b"extLst",
    b"AlternateContent",
}
_BATTR: dict[bytes, re.Pattern[bytes]] = {}


def _battr(tag: bytes, name: bytes) -> bytes | None:
    pattern = _BATTR.get(name)
    if pattern is None:
        pattern = _BATTR[name] = re.compile(rb"\s" + re.escape(name) + rb"""=(["'])(.*?)\1""")
    match = pattern.search(tag)
    return match.group(2) if match else None


def _bset(tag: bytes, name: bytes, value: object) -> bytes:
    return _set_attr(tag.decode(), name.decode(), str(value)).encode()


def _col_index(ref: bytes) -> int:
    letters = ref.rstrip(b"0123456789$").lstrip(b"$")
    return column_index_from_string(letters.decode()) - 1


class _SheetRewriter:
    """Streams the roster sheet's XML, colouring the cells that have findings.

    Rows are located by their ``r`` attribute (or counted, where a generator left it out); a
    chunk with no finding in its row range is copied as it is, so a sheet formatted down to row
    1,048,576 costs little more than its decompression. A bad cell that is not in the file gets
    an empty ``<c>`` in its place, styled like its row or column would have shown it.
    """

    def __init__(
        self,
        cells: dict[int, dict[int, _Mark]],
        rows: dict[int, _Mark],
        styles: _Styles,
        new_legacy_id: str | None,
    ):
        self.cells = cells
        self.row_marks = rows
        self.targets = sorted(set(cells) | set(rows))
        self.styles = styles
        self.new_legacy_id = new_legacy_id
        self.legacy_id: bytes | None = None
        self.anchors: dict[int, int] = {}
        self.done = 0
        self.row = 0
        self.p = b""
        self.r_prefix: bytes | None = None
        self.col_styles: list[tuple[int, int, int]] = []
        all_cols = [col for marks in cells.values() for col in marks]
        # A row-level finding on a row with no values is anchored where the table most likely
        # starts: the leftmost column any finding names.
        self.default_col = min(all_cols, default=0)

    def run(self, src: IO[bytes], dst: IO[bytes]) -> None:
        buf = src.read(CHUNK)
        if buf.startswith((b"\xff\xfe", b"\xfe\xff")):
            src = BytesIO(_decode(buf + src.read()).encode())
            buf = src.read(CHUNK)
        while (start := _SHEET_DATA.search(buf)) is None:
            chunk = src.read(CHUNK)
            if not chunk:
                raise ValueError("工作表缺少数据区（sheetData）")
            buf += chunk
        dst.write(self._head(buf[: start.start()]))
        # The rows are in the main namespace, whatever the root element is called (a macro
        # sheet's is not <worksheet>).
        p = self.p = start.group(1) or b""
        rest = buf[start.end() :]
        if start.group(2):
            dst.write(b"<%ssheetData>%s</%ssheetData>" % (p, self._missing(LAST_ROW + 1), p))
            tail, depth = inert_tail(rest + src.read()), 0
        else:
            dst.write(buf[start.start() : start.end()])
            close, opener = b"</%ssheetData>" % p, b"<%srow" % p
            # Formulas are dropped row by row (``inert``), before the rows are marked.
            while (end := rest.find(close)) < 0:
                cut = rest.rfind(opener)
                if cut > 0:
                    dst.write(self._rows(inert_cells(rest[:cut])))
                    rest = rest[cut:]
                chunk = src.read(CHUNK)
                if not chunk:
                    raise ValueError("工作表不完整")
                rest += chunk
            dst.write(self._rows(inert_cells(rest[:end])))
            dst.write(self._missing(LAST_ROW + 1))
            rest += src.read()
            tail, depth = rest[end : end + len(close)] + inert_tail(rest[end + len(close) :]), 1
        dst.write(self._tail(tail, depth))

    def _head(self, head: bytes) -> bytes:
        root = re.search(rb"<(\w+:)?worksheet\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", head)
        if root:
            self.p = root.group(1) or b""
            declared = re.search(rb'xmlns:(\w+)="' + _R.encode() + rb'"', root.group(2))
            self.r_prefix = declared.group(1) if declared else None
        head = _TAB_SELECTED.sub(b' tabSelected="0"', head)
        for col in re.finditer(rb"<(?:\w+:)?col\b([^>]*?)/?>", head):
            low, high = _battr(col.group(1), b"min"), _battr(col.group(1), b"max")
            style = _battr(col.group(1), b"style")
            if low and high and style:
                self.col_styles.append((int(low) - 1, int(high) - 1, int(style)))
        dimension = re.search(rb"<(?:\w+:)?dimension\b[^>]*?/>", head)
        ref = _battr(dimension.group(0), b"ref") if dimension else None
        if ref and self.targets:
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
            except (TypeError, ValueError):
                return head
            max_row = max(max_row or 1, self.targets[-1])
            cols = [col for marks in self.cells.values() for col in marks] + [self.default_col]
            max_col = max(max_col or 1, max(cols) + 1)
            new_ref = f"{get_column_letter(min_col or 1)}{min_row or 1}:"
            new_ref += f"{get_column_letter(max_col)}{max_row}"
            tag = _bset(dimension.group(0), b"ref", new_ref)
            head = head[: dimension.start()] + tag + head[dimension.end() :]
        return head

    def _pending_up_to(self, number: int) -> bool:
        return self.done < len(self.targets) and self.targets[self.done] <= number

    def _rows(self, data: bytes) -> bytes:
        last = data.rfind(b"<%srow" % self.p)
        if last < 0:
            return data
        last_r = _battr(data[last : data.find(b">", last) + 1], b"r")
        if last_r is not None and last_r.isdigit() and not self._pending_up_to(int(last_r)):
            self.row = int(last_r)
            return data
        out, pos = [], 0
        for match in _ROW.finditer(data):
            xml = match.group(0)
            r = _battr(xml[: xml.index(b">") + 1], b"r")
            number = int(r) if r else self.row + 1
            missing = self._missing(number)
            is_target = self.done < len(self.targets) and self.targets[self.done] == number
            if is_target or missing:
                out += [data[pos : match.start()], missing]
                if is_target:
                    self.done += 1
                    xml = self._rewrite(xml, number)
                elif r is None:
                    # Rows without ``r`` follow the previous one; the row inserted before this
                    # one would shift it unless it says its number.
                    tag_end = xml.index(b">") + 1
                    tag = xml[:tag_end]
                    xml = _bset(tag, b"r", number) + xml[tag_end:]
                out.append(xml)
                pos = match.end()
            self.row = number
        out.append(data[pos:])
        return b"".join(out)

    def _base_style(self, col: int, row_style: int | None) -> int:
        if row_style is not None:
            return row_style
        for low, high, style in self.col_styles:
            if low <= col <= high:
                return style
        return 0

    def _new_cell(self, number: int, col: int, level: str, row_style: int | None) -> bytes:
        style = self.styles.marked(self._base_style(col, row_style), level)
        return b'<%sc r="%s%d" s="%d"/>' % (
            self.p,
            get_column_letter(col + 1).encode(),
            number,
            style,
        )

    def _missing(self, before: int) -> bytes:
        """New rows for findings on rows the file does not have, up to ``before``."""
        out = []
        while self._pending_up_to(before - 1):
            number = self.targets[self.done]
            self.done += 1
            levels = {col: mark.level for col, mark in self.cells.get(number, {}).items()}
            if number in self.row_marks:
                self.anchors[number] = self.default_col
                levels[self.default_col] = _worse(
                    levels.get(self.default_col), self.row_marks[number].level
                )
            cells = b"".join(
                self._new_cell(number, col, levels[col], None) for col in sorted(levels)
            )
            out.append(b'<%srow r="%d">%s</%srow>' % (self.p, number, cells, self.p))
        return b"".join(out)

    def _rewrite(self, xml: bytes, number: int) -> bytes:
        tag_end = xml.index(b">") + 1
        tag = xml[:tag_end]
        if tag.endswith(b"/>"):
            tag, inner = tag[:-2].rstrip() + b">", b""
        else:
            inner = xml[tag_end : xml.rindex(b"</")]
        tag = _bset(tag, b"r", number)
        # ``spans`` is an optional hint that an inserted cell could contradict.
        tag = re.sub(rb"""\sspans=(["']).*?\1""", b"", tag)
        custom = _battr(tag, b"customFormat") in (b"1", b"true")
        row_style = int(_battr(tag, b"s") or 0) if custom else None

        parsed, col = [], -1
        for cell in _CELL.finditer(inner):
            ref = _battr(cell.group(1), b"r")
            col = _col_index(ref) if ref else col + 1
            parsed.append((cell, col))
        levels = {col: mark.level for col, mark in self.cells.get(number, {}).items()}
        row_mark = self.row_marks.get(number)
        if row_mark is not None:
            used = [c for cell, c in parsed if cell.group(2) and _HAS_VALUE.search(cell.group(2))]
            self.anchors[number] = used[0] if used else self.default_col
            for c in used or [self.default_col]:
                levels[c] = _worse(levels.get(c), row_mark.level)

        pending = sorted(levels)
        out, pos, i = [tag], 0, 0
        for cell, col in parsed:
            out.append(inner[pos : cell.start()])
            while i < len(pending) and pending[i] < col:
                out.append(self._new_cell(number, pending[i], levels[pending[i]], row_style))
                i += 1
            attrs = cell.group(1)
            if _battr(attrs, b"r") is None:
                attrs = _bset(attrs + b">", b"r", f"{get_column_letter(col + 1)}{number}")[:-1]
            if i < len(pending) and pending[i] == col:
                base = int(_battr(attrs, b"s") or 0)
                style = self.styles.marked(base, levels[col])
                attrs = _bset(attrs + b">", b"s", style)[:-1]
                i += 1
            whole = cell.group(0)
            out.append(
                whole[: cell.start(1) - cell.start()] + attrs + whole[cell.end(1) - cell.start() :]
            )
            pos = cell.end()
        for col in pending[i:]:
            out.append(self._new_cell(number, col, levels[col], row_style))
        out.append(inner[pos:])
        out.append(b"</%srow>" % self.p)
        return b"".join(out)

    def _tail(self, tail: bytes, depth: int) -> bytes:
        """The XML after the rows, with a ``<legacyDrawing>`` added when comments need one."""
        insert_at = None
        for match in _TAG.finditer(tail):
            if match.group(2) is None:
                continue
            closing, name, attrs, empty = match.groups()
            if closing:
                depth -= 1
                if depth < 0:
                    insert_at = match.start() if insert_at is None else insert_at
                    break
                continue
            local = name.split(b":")[-1]
            if depth == 0:
                if local == b"legacyDrawing":
                    self.legacy_id = _battr(re.sub(rb"\s\w+:id=", b" id=", attrs), b"id")
                elif local in _AFTER_LEGACY and insert_at is None:
                    insert_at = match.start()
            if not empty:
                depth += 1
        if self.legacy_id is not None or self.new_legacy_id is None or insert_at is None:
            return tail
        rid = self.new_legacy_id.encode()
        if self.r_prefix:
            attr = b'%s:id="%s"' % (self.r_prefix, rid)
        else:
            attr = b'xmlns:r="%s" r:id="%s"' % (_R.encode(), rid)
        element = b"<%slegacyDrawing %s/>" % (self.p, attr)
        return tail[:insert_at] + element + tail[insert_at:]


def _worse(level: str | None, other: str) -> str:
    return ERROR if ERROR in (level, other) else WARNING


def _copy_sheet_unselected(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copy another sheet, clearing ``tabSelected`` so Excel does not open it grouped with the
    summary sheet (two selected tabs edit together)."""
    head = b""
    while b"sheetData" not in head and (chunk := src.read(CHUNK)):
        head += chunk
    cut = head.find(b"sheetData")
    cut = len(head) if cut < 0 else cut
    dst.write(_TAB_SELECTED.sub(b' tabSelected="0"', head[:cut]) + head[cut:])
    while chunk := src.read(CHUNK):
        dst.write(chunk)
