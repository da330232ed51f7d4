"""The comments of the annotated roster: a comments part and its legacy VML drawing are created
or extended, and the notes of an earlier check are taken out first.
"""

from __future__ import annotations

import html
import re
import zipfile

from enrollment.annotate.base import _MAIN, AUTHOR, MARK, _esc, _prefix

_VML_NS = {
    "v": "urn:schemas-microsoft-com:vml",
    "o": "urn:schemas-microsoft-com:office:office",
    "x": "urn:schemas-microsoft-com:office:excel",
}


def _comment_run(p: str, text: str) -> str:
    return (
        f'<{p}r><{p}rPr><{p}sz val="9"/><{p}rFont val="宋体"/><{p}charset val="134"/></{p}rPr>'
        f'<{p}t xml:space="preserve">{_esc(MARK)}\n{_esc(text)}</{p}t></{p}r>'
    )


def _strip_previous(text: str, p: str) -> tuple[str, set[str]]:
    """Remove what an earlier check wrote, and the comments left empty; returns those cells.

    The check's text starts with MARK and, where it was put before a clerk's own comment, ends
    with a blank line. Programs that save the file again may split it into several runs
    (LibreOffice starts a new run wherever the script changes), so runs are removed from the
    one that starts with MARK up to that blank line, or to the end of the comment."""
    emptied = set()
    run_pattern = re.compile(rf"<{p}r\b[^>]*>.*?</{p}r>", re.S)

    def run_text(run: str) -> str:
        return html.unescape("".join(re.findall(rf"<{p}t\b[^>]*>(.*?)</{p}t>", run, re.S)))

    def strip(match: re.Match[str]) -> str:
        body = match.group(3)
        if re.match(rf"\s*<{p}t\b[^>]*>{MARK}", body):
            emptied.add(match.group(2).replace("$", ""))
            return ""
        runs = list(run_pattern.finditer(body))
        cut, index = [], 0
        while index < len(runs):
            if not run_text(runs[index].group(0)).startswith(MARK):
                index += 1
                continue
            first, removed = index, ""
            while index < len(runs) and not removed.endswith("\n\n"):
                removed += run_text(runs[index].group(0))
                index += 1
            cut.append((runs[first].start(), runs[index - 1].end()))
        for begin, end in reversed(cut):
            body = body[:begin] + body[end:]
        if not re.search(rf"<{p}t\b", body):
            emptied.add(match.group(2).replace("$", ""))
            return ""
        whole = match.group(0)
        inner = match.start(3) - match.start()
        return whole[:inner] + body + whole[inner + len(match.group(3)) :]

    pattern = rf"""<{p}comment\b[^>]*?\sref=(["'])([^"']+)\1[^>]*>(.*?)</{p}comment>"""
    return re.sub(pattern, strip, text, flags=re.S), emptied


def _comments_xml(existing: str | None, notes: dict[str, str]) -> tuple[bytes, set[str]]:
    """The sheet's comments part with ``notes`` (cell reference -> text) added, and the cells
    whose comments from an earlier check were removed. A cell that already has a comment of
    the clerk's keeps it, with the check's text put first."""
    if existing is None:
        items = "".join(
            f'<comment ref="{ref}" authorId="0"><text>{_comment_run("", text)}</text></comment>'
            for ref, text in notes.items()
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<comments xmlns="{_MAIN}"><authors><author>{AUTHOR}</author></authors>'
            f"<commentList>{items}</commentList></comments>"
        )
        return xml.encode(), set()
    p = _prefix(existing, "comments")
    text, emptied = _strip_previous(existing, p)
    text = re.sub(rf"<{p}(authors|commentList)\b([^>]*)/>", rf"<{p}\1\2></{p}\1>", text)
    if f"</{p}authors>" not in text:
        root_end = re.search(rf"<{p}comments\b[^>]*>", text).end()
        text = f"{text[:root_end]}<{p}authors></{p}authors>{text[root_end:]}"
    if f"</{p}commentList>" not in text:
        at = text.index(f"</{p}authors>") + len(f"</{p}authors>")
        text = f"{text[:at]}<{p}commentList></{p}commentList>{text[at:]}"
    author_id = len(re.findall(rf"<{p}author\b", text))
    at = text.index(f"</{p}authors>")
    text = f"{text[:at]}<{p}author>{AUTHOR}</{p}author>{text[at:]}"
    notes = dict(notes)
    found = re.compile(rf"""<{p}comment\b[^>]*?\sref=(["'])([^"']+)\1[^>]*>\s*<{p}text>""")
    for match in reversed(list(found.finditer(text))):
        note = notes.pop(match.group(2).replace("$", ""), None)
        if note is None:
            continue
        at = match.end()
        run = _comment_run(p, note + "\n\n")
        # A comment's text is either one plain <t> or a list of runs; a run cannot follow a
        # plain <t>, so that one becomes a run itself.
        plain = re.match(rf"<{p}t\b[^>]*?(?:/>|>.*?</{p}t>)", text[at:], re.S)
        if plain:
            end = at + plain.end()
            text = f"{text[:at]}{run}<{p}r>{plain.group(0)}</{p}r>{text[end:]}"
        else:
            text = f"{text[:at]}{run}{text[at:]}"
    items = "".join(
        f'<{p}comment ref="{ref}" authorId="{author_id}"><{p}text>{_comment_run(p, note)}'
        f"</{p}text></{p}comment>"
        for ref, note in notes.items()
    )
    at = text.rindex(f"</{p}commentList>")
    return f"{text[:at]}{items}{text[at:]}".encode(), emptied - set(notes)


def _drop_shapes(vml: str, cells: set[tuple[int, int]]) -> str:
    """``vml`` without the note shapes of ``cells`` (0-based row, column)."""

    def keep(match: re.Match[str]) -> str:
        shape = match.group(0)
        row = re.search(r":Row>\s*(\d+)", shape)
        col = re.search(r":Column>\s*(\d+)", shape)
        if (
            re.search(r"""ObjectType=["']Note""", shape)
            and row
            and col
            and (int(row.group(1)), int(col.group(1))) in cells
        ):
            return ""
        return shape

    return re.sub(r"<(\w+):shape\b.*?</\1:shape>", keep, vml, flags=re.S)


def _vml_xml(
    existing: str | None,
    notes: list[tuple[int, int, str]],
    idmap: int,
    dropped: set[tuple[int, int]],
) -> bytes:
    """The legacy drawing that shows comments in Excel, with a shape for each of ``notes``
    (row, 0-based column, text) and none for ``dropped`` (0-based row and column) or the
    cells noted anew. Excel's VML is not always well-formed XML, so an existing drawing is
    edited as text, using whatever prefixes it declares."""
    if existing is not None:
        existing = _drop_shapes(existing, dropped | {(row - 1, col) for row, col, _ in notes})
    else:
        existing = (
            '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{idmap}"/></o:shapelayout>'
            "</xml>"
        )
    root = re.search(r"<xml\b[^>]*>", existing)
    prefixes = {}
    for short, uri in _VML_NS.items():
        declared = re.search(rf'xmlns:(\w+)=["\']{re.escape(uri)}["\']', existing)
        if declared:
            prefixes[short] = declared.group(1)
        else:
            prefixes[short] = f"{short}check"
            tag = root.group(0)
            tag = f'{tag[:-1]} xmlns:{short}check="{uri}">'
            existing = existing[: root.start()] + tag + existing[root.end() :]
            root = re.search(r"<xml\b[^>]*>", existing)
    v, o, x = prefixes["v"], prefixes["o"], prefixes["x"]
    parts = []
    if "_x0000_t202" not in existing:
        parts.append(
            f'<{v}:shapetype id="_x0000_t202" coordsize="21600,21600" {o}:spt="202" '
            f'path="m,l,21600r21600,l21600,xe"><{v}:stroke joinstyle="miter"/>'
            f'<{v}:path gradientshapeok="t" {o}:connecttype="rect"/></{v}:shapetype>'
        )
    used = [int(n) for n in re.findall(r"_x0000_s(\d+)", existing)]
    shape_id = max(used, default=idmap * 1024)
    for row, col, text in notes:
        shape_id += 1
        lines = sum(len(line) // 22 + 1 for line in text.splitlines())
        top = max(row - 2, 0)
        parts.append(
            f'<{v}:shape id="_x0000_s{shape_id}" type="#_x0000_t202" '
            f'style="position:absolute;margin-left:{(col + 1) * 54 + 5}pt;'
            f"margin-top:{top * 15 + 2}pt;width:216pt;height:{max(lines, 3) * 13 + 10}pt;"
            f'z-index:{shape_id};visibility:hidden" fillcolor="#ffffe1" {o}:insetmode="auto">'
            f'<{v}:fill color2="#ffffe1"/><{v}:shadow on="t" color="black" obscured="t"/>'
            f'<{v}:path {o}:connecttype="none"/><{v}:textbox style="mso-direction-alt:auto">'
            f'<div style="text-align:left"></div></{v}:textbox>'
            f'<{x}:ClientData ObjectType="Note"><{x}:MoveWithCells/><{x}:SizeWithCells/>'
            f"<{x}:Anchor>{col + 1}, 15, {top}, 2, {col + 5}, 15, {top + max(lines, 3) + 1}, 4"
            f"</{x}:Anchor><{x}:AutoFill>False</{x}:AutoFill><{x}:Row>{row - 1}</{x}:Row>"
            f"<{x}:Column>{col}</{x}:Column></{x}:ClientData></{v}:shape>"
        )
    at = existing.rindex("</xml>")
    return (existing[:at] + "".join(parts) + existing[at:]).encode()


def _next_idmap(zin: zipfile.ZipFile) -> int:
    """A drawing block number no other VML part of the workbook uses."""
    used = [
        int(number)
        for name in zin.namelist()
        if name.lower().endswith(".vml")
        for number in re.findall(rb'data="(\d+)', zin.read(name))
    ]
    return 1 + max(used, default=0)
