"""``annotate_roster``: the clerk's workbook annotated, putting together the package surgery
(``package``), the formats (``styles``), the roster sheet (``sheet``), the comments
(``comments``) and the summary sheet (``summary``); and workbook.xml, where the summary sheet
is added and made active.

Measured on the development machine (Python 3.13, one process, peak RSS including the 33 MB of
the interpreter and imports): 100,000 rows × 12 columns with 1,000 findings, 1.1 s and 46 MB
(the same file saved by LibreOffice, with shared strings, 1.2 s); 1,048,576 formatted rows with
50 filled, 0.5 s and 53 MB; 100,000 rows with 200,000 findings, 5.6 s and 340 MB.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from io import BytesIO

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from enrollment.annotate.base import (
    _MAIN,
    _R,
    LAST_ROW,
    MAX_COMMENTS,
    SUMMARY_SHEET,
    SUMMARY_TITLE,
    _decode,
    _esc,
    _parse,
    _prefix,
    _set_attr,
)
from enrollment.annotate.comments import _comments_xml, _next_idmap, _vml_xml
from enrollment.annotate.inert import Inert, inert_workbook
from enrollment.annotate.package import (
    _CELL_SHEET_KINDS,
    _CT_COMMENTS,
    _CT_SHEET,
    _CT_STYLES,
    _CT_VML,
    _SHEET_KINDS,
    _add_relationships,
    _content_types,
    _first_cell_text,
    _fresh_id,
    _fresh_part,
    _info,
    _relationships,
    _rels_name,
    _stream,
)
from enrollment.annotate.sheet import _copy_sheet_unselected, _Mark, _SheetRewriter
from enrollment.annotate.styles import _Styles
from enrollment.annotate.summary import _LEVEL_LABEL, _summary_xml
from plans.engine.findings import Finding


def _workbook_xml(text: str, *, insert: tuple[str, int, str] | None, active: int) -> bytes:
    """workbook.xml with the summary sheet active, and first when ``insert`` (name, sheetId,
    relationship id) adds it. Sheet-local defined names (print areas, filters) count sheets by
    position, so each then moves up by one."""
    p = _prefix(text, "workbook")
    if insert is not None:
        name, sheet_id, rid = insert
        root = re.search(rf"<{p}workbook\b[^>]*>", text)
        declared = re.search(rf'xmlns:(\w+)="{re.escape(_R)}"', root.group(0))
        rel = f'{declared.group(1)}:id="{rid}"' if declared else f'xmlns:r="{_R}" r:id="{rid}"'
        sheets = re.search(rf"<{p}sheets\b[^>]*>", text)
        element = f'<{p}sheet name="{_esc(name, quote=True)}" sheetId="{sheet_id}" {rel}/>'
        text = text[: sheets.end()] + element + text[sheets.end() :]
        text = re.sub(
            r"""(\slocalSheetId=)(["'])(\d+)\2""",
            lambda m: f'{m.group(1)}"{int(m.group(3)) + 1}"',
            text,
        )
    view = re.search(rf"<{p}workbookView\b[^>]*>", text)
    if view:
        tag = _set_attr(view.group(0), "activeTab", str(active))
        tag = _set_attr(tag, "firstSheet", "0")
        text = text[: view.start()] + tag + text[view.end() :]
    return text.encode()


@dataclass
class _Sheet:
    name: str
    sheet_id: int
    rid: str
    part: str | None


def annotate_roster(
    source: str | os.PathLike | bytes,
    *,
    sheet_name: str,
    findings: list[Finding],
    summary: dict,
) -> bytes:
    """The clerk's workbook with each cell that has a finding filled red (error) or yellow
    (warning) and commented, and a first sheet 检查结果 with the counts from ``summary`` (rows,
    valid_rows, fee_total, plan, checked_at) and every finding, linked to its cell.

    A row finding without a column marks every cell of that row that holds a value, and its
    comment sits on the first of them. File and unit findings (no row) appear only in the
    summary. Cells keep their formats apart from the fill; nothing else in the file changes,
    except that the marks of an earlier check (fills, comments and its summary sheet, which
    is reused) are taken away first, since clerks fix the annotated file and upload it again,
    and that nothing is left that would run when the file is opened: formulas give way to
    their cached values, and external links, connections, macros and controls go (``inert``).
    """
    cells: dict[int, dict[int, _Mark]] = {}
    rows: dict[int, _Mark] = {}
    for finding in findings:
        if finding.row is None or not 1 <= finding.row <= LAST_ROW:
            continue
        text = f"{_LEVEL_LABEL.get(finding.level, finding.level)}：{finding.message}"
        if finding.col is not None and 0 <= finding.col < 16384:
            marks = cells.setdefault(finding.row, {})
            marks.setdefault(finding.col, _Mark()).add(finding.level, text)
        else:
            rows.setdefault(finding.row, _Mark()).add(finding.level, text)
    wants_comments = bool(cells or rows)

    with zipfile.ZipFile(BytesIO(source) if isinstance(source, bytes) else source) as zin:
        names = set(zin.namelist())
        lowered = {name.lower() for name in names}
        workbook = next(
            target
            for kind, target in _relationships(zin, "").values()
            if kind.endswith("/officeDocument")
        )
        wb_rels = _relationships(zin, workbook)
        wb_text = _decode(zin.read(workbook))
        sheets = [
            _Sheet(
                name=element.get("name") or "",
                sheet_id=int(element.get("sheetId") or 0),
                rid=element.get(f"{{{_R}}}id", ""),
                part=wb_rels.get(element.get(f"{{{_R}}}id", ""), ("", None))[1],
            )
            for element in _parse(wb_text).iter(f"{{{_MAIN}}}sheet")
        ]
        roster = next((sheet for sheet in sheets if sheet.name == sheet_name), None)
        if roster is None or roster.part not in names:
            raise ValueError(f"工作簿中没有名为“{sheet_name}”的工作表")
        sheet_part = roster.part

        # The summary of an earlier check is recognised by its title, which survives Excel,
        # WPS and LibreOffice saving the file again (sheet code names and authors do not).
        strings = next((t for k, t in wb_rels.values() if k.endswith("/sharedStrings")), None)
        previous = next(
            (
                sheet
                for sheet in sheets
                if sheet is not roster
                and sheet.name.startswith(SUMMARY_SHEET)
                and sheet.part in names
                and _first_cell_text(zin, sheet.part, strings) == SUMMARY_TITLE
            ),
            None,
        )
        new_wb_rels, overrides = [], {}
        if previous is not None:
            summary_part, insert, active = previous.part, None, sheets.index(previous)
        else:
            taken = {sheet.name.lower() for sheet in sheets}
            summary_name, number = SUMMARY_SHEET, 1
            while summary_name.lower() in taken:
                number += 1
                summary_name = f"{SUMMARY_SHEET}{number}"
            summary_part = _fresh_part(lowered, "xl/worksheets/sheet{}.xml")
            summary_rid = _fresh_id(wb_rels)
            sheet_id = 1 + max((sheet.sheet_id for sheet in sheets), default=0)
            insert, active = (summary_name, sheet_id, summary_rid), 0
            new_wb_rels.append((summary_rid, _R + "/worksheet", summary_part))
            overrides[summary_part] = _CT_SHEET
        other_sheets = {
            target
            for kind, target in wb_rels.values()
            if kind.endswith(_SHEET_KINDS) and target not in (sheet_part, summary_part)
        }
        # Sheets with cells, whose formulas are dropped like the roster's (macro sheets too:
        # their "formulas" are Excel 4 macros).
        cell_sheets = {
            target
            for kind, target in wb_rels.values()
            if kind.endswith(_CELL_SHEET_KINDS) and target not in (sheet_part, summary_part)
        }

        styles_part = next((t for k, t in wb_rels.values() if k.endswith("/styles")), None)
        if styles_part is None or styles_part not in names:
            # The conventional name: openpyxl, for one, looks nowhere else.
            styles_part = "xl/styles.xml"
            if styles_part in lowered:
                styles_part = _fresh_part(lowered, "xl/styles{}.xml")
            rid = _fresh_id([*wb_rels, *(r for r, _, _ in new_wb_rels)])
            new_wb_rels.append((rid, _R + "/styles", styles_part))
            overrides[styles_part] = _CT_STYLES
            styles = _Styles(None)
        else:
            styles = _Styles(_decode(zin.read(styles_part)))

        # What must go so that the copy runs nothing when opened (see ``inert``).
        keep = {workbook, sheet_part, *(sheet.part for sheet in sheets if sheet.part)}
        inert = Inert.of(zin, keep=keep | {styles_part, strings or ""})

        sheet_rels = _relationships(zin, sheet_part)
        comments_part = next(
            (t for k, t in sheet_rels.values() if k.endswith("/comments") and t in names), None
        )
        new_sheet_rels = []
        if wants_comments and comments_part is None:
            comments_part = _fresh_part(lowered, "xl/comments{}.xml")
            overrides[comments_part] = _CT_COMMENTS
            new_sheet_rels.append((_fresh_id(sheet_rels), _R + "/comments", comments_part))
        legacy_id = _fresh_id([*sheet_rels, *(r for r, _, _ in new_sheet_rels)])
        rewriter = _SheetRewriter(cells, rows, styles, legacy_id if wants_comments else None)
        defaults = {"vml": _CT_VML} if wants_comments else {}

        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            types = "[Content_Types].xml"
            zout.writestr(
                _info(types, zin.getinfo(types)),
                _content_types(
                    inert.content_types(_decode(zin.read(types))),
                    defaults=defaults,
                    overrides=overrides,
                ),
            )
            _stream(zin, zout, sheet_part, rewriter.run)

            vml_part = None
            if comments_part is not None and rewriter.legacy_id is not None:
                vml_part = sheet_rels.get(rewriter.legacy_id.decode(), ("", None))[1]
            if wants_comments and (vml_part is None or vml_part not in names):
                vml_part = _fresh_part(lowered, "xl/drawings/vmlDrawing{}.vml")
                new_sheet_rels.append((legacy_id, _R + "/vmlDrawing", vml_part))
            notes = _notes(cells, rows, rewriter.anchors)
            kept = sorted(notes)[:MAX_COMMENTS]
            summary_xml = _summary_xml(
                summary=summary,
                sheet_name=sheet_name,
                findings=findings,
                cell_of=rewriter.anchors,
                omitted_comments=len(notes) - len(kept),
                styles=styles,
            )

            rewritten = {types, sheet_part, summary_part, styles_part, comments_part, vml_part}
            rewritten.add(_rels_name(sheet_part))
            for info in zin.infolist():
                name = info.filename
                if name in rewritten or name in inert.dropped:
                    continue
                if name == workbook:
                    data = _workbook_xml(inert_workbook(wb_text), insert=insert, active=active)
                    zout.writestr(_info(name, info), data)
                elif name == _rels_name(workbook):
                    text = inert.rels(name, _decode(zin.read(name)))
                    zout.writestr(_info(name, info), _add_relationships(text, new_wb_rels).encode())
                elif name in cell_sheets:
                    _stream(zin, zout, name, _SheetRewriter({}, {}, styles, None).run)
                elif name in other_sheets:
                    _stream(zin, zout, name, _copy_sheet_unselected)
                elif name in inert.removed:
                    zout.writestr(_info(name, info), inert.rels(name, _decode(zin.read(name))))
                elif name in inert.rewrites:
                    zout.writestr(_info(name, info), inert.rewrite(name, zin.read(name)))
                else:
                    _stream(zin, zout, name, shutil.copyfileobj)

            def existing(part: str | None) -> str | None:
                if part not in names:
                    return None
                text = _decode(zin.read(part))
                return inert.rels(part, text) if part.endswith(".rels") else text

            zout.writestr(_info(summary_part), summary_xml)
            zout.writestr(_info(styles_part), styles.render())
            texts = {
                f"{get_column_letter(col + 1)}{row}": "\n".join(notes[(row, col)])
                for row, col in kept
            }
            if comments_part is not None:
                xml, emptied = _comments_xml(existing(comments_part), texts)
                zout.writestr(_info(comments_part), xml)
                if vml_part is not None:
                    dropped = set()
                    for ref in emptied:
                        col, row = range_boundaries(ref)[:2]
                        dropped.add((row - 1, col - 1))
                    shapes = [
                        (row, col, texts[f"{get_column_letter(col + 1)}{row}"]) for row, col in kept
                    ]
                    zout.writestr(
                        _info(vml_part),
                        _vml_xml(existing(vml_part), shapes, _next_idmap(zin), dropped),
                    )
            rels_name = _rels_name(sheet_part)
            if new_sheet_rels or rels_name in names:
                data = _add_relationships(existing(rels_name), new_sheet_rels).encode()
                zout.writestr(_info(rels_name), data)
    return out.getvalue()


def _notes(
    cells: dict[int, dict[int, _Mark]], rows: dict[int, _Mark], anchors: dict[int, int]
) -> dict[tuple[int, int], list[str]]:
    """Comment lines by (row, 0-based column); a row finding's lines go to its anchor cell."""
    notes = {
        (row, col): list(mark.messages)
        for row, marks in cells.items()
        for col, mark in marks.items()
    }
    for row, mark in rows.items():
        note = notes.setdefault((row, anchors.get(row, 0)), [])
        note[:0] = mark.messages
    return notes
