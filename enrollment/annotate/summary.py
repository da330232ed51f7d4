"""The summary sheet 检查结果 of the annotated roster, written as raw XML: the counts and every
finding, each linked to its cell.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from enrollment.annotate.base import _MAIN, _R, LAST_ROW, MAX_LISTED, SUMMARY_TITLE, _esc
from enrollment.annotate.styles import _Styles
from mutualaid.exports import neutralise
from plans.engine.findings import ERROR, WARNING, Finding, code_label

_LEVEL_LABEL = {ERROR: "错误", WARNING: "提醒"}


def _summary_xml(
    *,
    summary: dict,
    sheet_name: str,
    findings: list[Finding],
    cell_of: dict[int, int],
    omitted_comments: int,
    styles: _Styles,
) -> bytes:
    errors = sum(1 for f in findings if f.level == ERROR)
    warnings = len(findings) - errors
    rows_total, valid = summary.get("rows"), summary.get("valid_rows")
    bad_rows = rows_total - valid if isinstance(rows_total, int) and isinstance(valid, int) else ""
    bold, wrap = styles.named("bold"), styles.named("wrap")
    lines: list[list[tuple[object, int | None]]] = [
        [(SUMMARY_TITLE, styles.named("title"))],
        [("计划", bold), (summary.get("plan", ""), None)],
        [("检查时间", bold), (summary.get("checked_at", ""), None)],
        [("工作表", bold), (sheet_name, None)],
        [("名单行数", bold), (rows_total if rows_total is not None else "", None)],
        [("无误行数", bold), (valid if valid is not None else "", None)],
        [("有错误的行数", bold), (bad_rows, None)],
        [("错误", bold), (errors, None)],
        [("提醒", bold), (warnings, None)],
        [("会费合计（元，无误行）", bold), (summary.get("fee_total", ""), None)],
        [
            ("说明", bold),
            (
                f"“{sheet_name}”工作表中有错误的单元格已标红，需要注意的标黄，鼠标停在单元格上"
                "可看说明；点下表的行号可跳到该单元格。改正后请重新上传整个文件"
                "（本工作表不影响检查，可以保留）。",
                wrap,
            ),
        ],
    ]
    if omitted_comments:
        lines.append(
            [
                ("", None),
                (f"问题较多，另有{omitted_comments}个单元格只标了颜色，说明见下表。", wrap),
            ]
        )
    lines.append([])
    # Each code by its Chinese label; the code itself in a column of its own, for scripts.
    lines.append([(label, bold) for label in ("行号", "列", "问题类型", "级别", "说明", "代码")])
    header_row = len(lines)
    ordered = sorted(findings, key=lambda f: (f.row is not None, f.row or 0, f.col or -1))
    links = []
    quoted = sheet_name.replace("'", "''")
    for finding in ordered[:MAX_LISTED]:
        level = styles.named(finding.level if finding.level == ERROR else WARNING)
        lines.append(
            [
                (finding.row if finding.row is not None else "全表", None),
                (finding.column or "", None),
                (code_label(finding.code), None),
                (_LEVEL_LABEL.get(finding.level, finding.level), level),
                (finding.message, wrap),
                (finding.code, None),
            ]
        )
        if finding.row is not None and 1 <= finding.row <= LAST_ROW:
            col = finding.col if finding.col is not None else cell_of.get(finding.row, 0)
            target = f"'{quoted}'!{get_column_letter(col + 1)}{finding.row}"
            links.append((len(lines), target, finding.row))
            lines[-1][0] = (finding.row, styles.named("link"))
    if not findings:
        lines.append([("", None), ("", None), ("", None), ("", None), ("未发现问题。", None)])
    if len(findings) > MAX_LISTED:
        lines.append([("", None), (f"另有{len(findings) - MAX_LISTED}条未列出。", None)])

    body = []
    for number, line in enumerate(lines, start=1):
        cells = []
        for col, (value, style) in enumerate(line):
            ref = f"{get_column_letter(col + 1)}{number}"
            s = f' s="{style}"' if style is not None else ""
            if isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<c r="{ref}"{s}><v>{value}</v></c>')
            elif value not in ("", None):
                # Inline strings are never formulas here, but the sheet may be saved as CSV.
                text = _esc(neutralise(value))
                cells.append(
                    f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
            elif style is not None:
                cells.append(f'<c r="{ref}"{s}/>')
        body.append(f'<row r="{number}">{"".join(cells)}</row>')
    hyperlinks = "".join(
        f'<hyperlink ref="A{row}" location="{_esc(target, quote=True)}" display="{shown}"/>'
        for row, target, shown in links
    )
    widths = (14, 14, 22, 8, 70, 26)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_R}"><sheetPr><tabColor rgb="FFC00000"/>'
        f'</sheetPr><dimension ref="A1:F{len(lines)}"/><sheetViews><sheetView tabSelected="1" '
        f'workbookViewId="0"><pane ySplit="{header_row}" topLeftCell="A{header_row + 1}" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
        f"<sheetData>{''.join(body)}</sheetData>"
        + (f"<hyperlinks>{hyperlinks}</hyperlinks>" if hyperlinks else "")
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></worksheet>'
    ).encode()
