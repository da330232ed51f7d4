"""styles.xml of the annotated roster: it gains the fills and cell formats that mark findings
(each cloned from the cell's own format, so fonts, borders and number formats stay), and the
formats of the summary sheet.
"""

from __future__ import annotations

import re

from enrollment.annotate.base import _MAIN, ERROR_RGB, WARNING_RGB, _prefix, _set_attr
from plans.engine.findings import ERROR, WARNING

_STYLE_ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_MINIMAL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="宋体"/></font>'
    '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" '
    'xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


class _Styles:
    """Appends fonts, fills and cell formats to styles.xml without reserialising the rest,
    so extensions and namespace declarations Excel relies on stay exactly as they were."""

    def __init__(self, text: str | None):
        self.text = text or _MINIMAL_STYLES
        self.p = _prefix(self.text, "styleSheet")
        for name in ("fonts", "fills", "cellXfs"):
            if self._span(name) is None:
                self._insert_section(name)
        self.xfs = self._items("cellXfs", "xf")
        self.fonts = self._items("fonts", "font")
        fills = self._items("fills", "fill")
        self.fill_count = len(fills)
        self._clear_previous(fills)
        self.new = {"fonts": [], "fills": [], "cellXfs": []}
        self._fill_ids: dict[str, int] = {}
        self._marked: dict[tuple[int, str], int] = {}
        self._named: dict[str, int] = {}
        if self.fill_count < 2:
            # Fills 0 and 1 are reserved by Excel (none and gray125) whatever they say.
            empty = f'<{self.p}fill><{self.p}patternFill patternType="none"/></{self.p}fill>'
            self.new["fills"] += [empty] * (2 - self.fill_count)

    def _span(self, name: str) -> tuple[int, int, int] | None:
        """(start, end of start tag, end) of section ``name``, or None when absent."""
        start = re.search(rf"<{self.p}{name}\b[^>]*?(/?)>", self.text)
        if start is None:
            return None
        if start.group(1):
            return start.start(), start.end(), start.end()
        end = self.text.index(f"</{self.p}{name}>", start.end()) + len(f"</{self.p}{name}>")
        return start.start(), start.end(), end

    def _insert_section(self, name: str) -> None:
        later = _STYLE_ORDER[_STYLE_ORDER.index(name) + 1 :]
        spans = [s for s in (self._span(n) for n in later) if s is not None]
        at = spans[0][0] if spans else self.text.rindex(f"</{self.p}styleSheet>")
        self.text = f'{self.text[:at]}<{self.p}{name} count="0"/>{self.text[at:]}'

    def _clear_previous(self, fills: list[str]) -> None:
        """Give formats marked by an earlier check their own fill back. Clerks fix the annotated
        file and upload it again, and cells they corrected must not stay red. A marked format
        was cloned from an earlier one that differs only in its fill, which is restored."""
        ours = {
            str(index)
            for index, fill in enumerate(fills)
            if re.search(rf'fgColor rgb="(?:{ERROR_RGB}|{WARNING_RGB})"', fill, re.I)
        }
        if not ours:
            return

        def bare(xf: str) -> str:
            return re.sub(r"""\s(?:fillId|applyFill)=(["'])[^"']*\1""", "", xf)

        changed = False
        for index, xf in enumerate(self.xfs):
            fill = re.search(r"""\sfillId=(["'])(\d+)\1""", xf)
            if not fill or fill.group(2) not in ours:
                continue
            twin = next((x for x in self.xfs[:index] if bare(x) == bare(xf)), None)
            original = re.search(r"""\sfillId=(["'])(\d+)\1""", twin or "")
            tag_end = xf.index(">") + 1
            tag = _set_attr(xf[:tag_end], "fillId", original.group(2) if original else "0")
            self.xfs[index] = _set_attr(tag, "applyFill", "1" if original else "0") + xf[tag_end:]
            changed = True
        if not changed:
            return
        start, inner, end = self._span("cellXfs")
        close = f"</{self.p}cellXfs>"
        body = "".join(self.xfs) + close
        self.text = self.text[:start] + self.text[start:inner] + body + self.text[end:]

    def _items(self, section: str, item: str) -> list[str]:
        start, inner, end = self._span(section)
        body = self.text[inner:end]
        pattern = rf"<{self.p}{item}\b[^>]*?(?:/>|>.*?</{self.p}{item}>)"
        return re.findall(pattern, body, flags=re.S)

    def _add(self, section: str, xml: str) -> int:
        existing = {"fonts": len(self.fonts), "fills": self.fill_count, "cellXfs": len(self.xfs)}
        self.new[section].append(xml)
        return existing[section] + len(self.new[section]) - 1

    def _base_xf(self, index: int) -> str:
        if 0 <= index < len(self.xfs):
            return self.xfs[index]
        return f'<{self.p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'

    def _derive(self, base: int, **attrs: str) -> str:
        xf = self._base_xf(base)
        tag_end = xf.index(">") + 1
        tag = xf[:tag_end]
        for name, value in attrs.items():
            tag = _set_attr(tag, name, value)
        return tag + xf[tag_end:]

    def _fill(self, level: str) -> int:
        if level not in self._fill_ids:
            rgb = ERROR_RGB if level == ERROR else WARNING_RGB
            p = self.p
            self._fill_ids[level] = self._add(
                "fills",
                f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{rgb}"/>'
                f'<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>',
            )
        return self._fill_ids[level]

    def marked(self, base: int, level: str) -> int:
        """A format like cell format ``base`` but filled with the colour of ``level``."""
        key = (base, level)
        if key not in self._marked:
            fill = str(self._fill(level))
            self._marked[key] = self._add("cellXfs", self._derive(base, fillId=fill, applyFill="1"))
        return self._marked[key]

    def named(self, kind: str) -> int:
        """Formats for the summary sheet: title, bold, link, wrap, error and warning."""
        if kind in self._named:
            return self._named[kind]
        if kind in (ERROR, WARNING):
            index = self.marked(0, kind)
        elif kind == "wrap":
            xf = self._derive(0, applyAlignment="1")
            xf = re.sub(rf"<{self.p}alignment\b[^>]*?(?:/>|>.*?</{self.p}alignment>)", "", xf)
            if xf.endswith("/>"):
                xf = xf[:-2] + f"></{self.p}xf>"
            tag_end = xf.index(">") + 1
            alignment = f'<{self.p}alignment vertical="top" wrapText="1"/>'
            index = self._add("cellXfs", xf[:tag_end] + alignment + xf[tag_end:])
        else:
            font = self._font(kind)
            index = self._add("cellXfs", self._derive(0, fontId=str(font), applyFont="1"))
        self._named[kind] = index
        return index

    def _font(self, kind: str) -> int:
        p = self.p
        font = self.fonts[0] if self.fonts else f'<{p}font><{p}sz val="11"/></{p}font>'
        if font.endswith("/>"):
            font = font[:-2] + f"></{p}font>"
        tag_end = font.index(">") + 1
        head, body = font[:tag_end], font[tag_end:]
        body = re.sub(rf"<{p}(?:b|u|color)\b[^>]*?(?:/>|>.*?</{p}(?:b|u|color)>)", "", body)
        if kind == "link":
            body = f'<{p}u/><{p}color rgb="FF0563C1"/>' + body
        else:
            body = f"<{p}b/>" + body
            if kind == "title":
                body = re.sub(rf"<{p}sz\b[^>]*?/>", f'<{p}sz val="14"/>', body)
        return self._add("fonts", head + body)

    def render(self) -> bytes:
        for section in ("fonts", "fills", "cellXfs"):
            if not self.new[section]:
                continue
            start, inner, end = self._span(section)
            tag = self.text[start:inner]
            body = self.text[inner:end] if inner != end else ""
            close = f"</{self.p}{section}>"
            if inner == end:
                tag = tag[:-2].rstrip() + ">"
                body = close
            items = len(re.findall(rf"<{self.p}{_ITEM[section]}[\s/>]", body))
            items += len(self.new[section])
            tag = _set_attr(tag, "count", str(items))
            at = body.rindex(close)
            body = body[:at] + "".join(self.new[section]) + body[at:]
            self.text = self.text[:start] + tag + body + self.text[end:]
        return self.text.encode()


_ITEM = {"fonts": "font", "fills": "fill", "cellXfs": "xf"}
