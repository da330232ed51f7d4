"""What is taken out of the clerk's workbook so that the annotated copy runs nothing when office
staff open it.

A clerk's roster is the clerk's own file, and a cell like ``=WEBSERVICE("http://…"&B10)`` would
send a member's ID number out the moment someone opens the checked workbook. So the annotated
copy keeps what the cells show and nothing that computes, fetches or runs:

* every formula (``<f>``: plain, shared, array, data-table) is removed from every worksheet and
  macro sheet; the cell keeps its cached value, a cell whose formula has no cached value
  becomes empty, and a cached text result (``t="str"``) becomes an inline string;
* conditional formats and data validations whose formulas call a function, name another
  workbook or use DDE (``app|topic``) are removed, as are extension blocks holding such
  formulas, ActiveX and form controls, OLE objects (linked ones update on opening), web
  publishing and data consolidation;
* defined names that are more than a reference or a constant go, and with them workbook.xml's
  list of external workbooks;
* parts that link out or run code are dropped with everything only they point to: external
  links (DDE and OLE links live there too), data connections, query tables, VBA projects,
  ActiveX controls, OLE objects, add-in task panes, and the calculation chain (which would
  point at formulas that are gone); pivot caches no longer refresh on opening;
* relationships to anything outside the package are removed, except hyperlinks, which wait for
  a click.

Everything else (values, formats, comments, drawings, charts with their cached data, other
sheets) is kept.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from enrollment.annotate.base import _TAG, _decode, _parse
from enrollment.annotate.package import _rels_name

# --- formulas ------------------------------------------------------------------------------------

_ANY_PREFIX = rb"(?:[\w.-]+:)?"
_FORMULA_TAG = re.compile(rb"<" + _ANY_PREFIX + rb"f[\s/>]")
_CDATA = re.compile(rb"<!\[CDATA\[(.*?)\]\]>", re.S)
_COMMENT_OR_PI = re.compile(rb"<!--.*?-->|<\?.*?\?>", re.S)
_CELL = re.compile(
    rb"<([\w.-]+:)?c\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(?:/>|>(.*?)</" + _ANY_PREFIX + rb"c>)",
    re.S,
)
_F_ELEMENT = re.compile(
    rb"<" + _ANY_PREFIX + rb"f\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?"
    rb"(?:/>|>[^<]*</" + _ANY_PREFIX + rb"f>)",
    re.S,
)
_V_ELEMENT = re.compile(rb"<" + _ANY_PREFIX + rb"v\b[^>]*?(?:/>|>([^<]*)</" + _ANY_PREFIX + rb"v>)")
_INLINE = re.compile(rb"<" + _ANY_PREFIX + rb"is\b")


def formula_is_inert(text: str) -> bool:
    """Whether a formula (as written in the XML, entities and all) is only a reference or a
    constant: no function call, no other workbook (``[1]Sheet1!A1``), no DDE (``cmd|x!A1``).

    Quoted text (``"..."``) and quoted sheet names (``'...'``) are skipped; a sheet name cannot
    hold ``[``, so one inside quotes names another workbook."""
    text = html.unescape(text)
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char in "\"'":
            close = at + 1
            while True:
                close = text.find(char, close)
                if close < 0:
                    return False
                if text[close + 1 : close + 2] == char:
                    close += 2
                    continue
                break
            if char == "'" and "[" in text[at:close]:
                return False
            at = close + 1
        elif char in "([|":
            return False
        else:
            at += 1
    return True


_ATTRS = {
    name: re.compile(rb"\s" + name + rb"""=(["'])(.*?)\1""") for name in (b"t", b"cm", b"count")
}


def _drop_attr(attrs: bytes, name: bytes) -> bytes:
    return _ATTRS[name].sub(b"", attrs) if name in attrs else attrs


def _attr(attrs: bytes, name: bytes) -> bytes | None:
    match = _ATTRS[name].search(attrs)
    return match.group(2) if match else None


def _plain(data: bytes) -> bytes:
    """Row XML with CDATA sections written as escaped text and comments and processing
    instructions removed, so that every ``<`` left starts a tag."""

    def escaped(match: re.Match[bytes]) -> bytes:
        text = match.group(1).replace(b"&", b"&amp;").replace(b"<", b"&lt;")
        return text.replace(b">", b"&gt;")

    return _COMMENT_OR_PI.sub(b"", _CDATA.sub(escaped, data))


def _inert_cell(match: re.Match[bytes]) -> bytes:
    whole, inner = match.group(0), match.group(3)
    if inner is None or not _FORMULA_TAG.search(inner):
        return whole
    p = match.group(1) or b""
    # ``cm`` points at the metadata of a dynamic-array formula, which is gone.
    attrs = _drop_attr(match.group(2), b"cm")
    inner = _F_ELEMENT.sub(b"", inner)
    value = _V_ELEMENT.search(inner)
    cached = value.group(1) if value else None
    if _attr(attrs, b"t") == b"str":
        attrs = _drop_attr(attrs, b"t")
        if cached:
            attrs += b' t="inlineStr"'
            inner = b'<%sis><%st xml:space="preserve">%s</%st></%sis>' % (p, p, cached, p, p)
        else:
            inner = b""
    elif not cached and not _INLINE.search(inner):
        attrs, inner = _drop_attr(attrs, b"t"), b""
    if not inner.strip():
        return b"<%sc%s/>" % (p, attrs.rstrip())
    return b"<%sc%s>%s</%sc>" % (p, attrs, inner, p)


def inert_cells(data: bytes) -> bytes:
    """Rows of sheet XML (whole ``<row>`` elements) without formulas, keeping cached values."""
    if not _FORMULA_TAG.search(data):
        return data
    if b"<!" in data or b"<?" in data:
        data = _plain(data)
    # ``<f>`` is a cell's first child, so the tag before it opens its cell: only the cells
    # with formulas are parsed (a roster with a formula on every row costs little more).
    out, pos = [], 0
    for found in _FORMULA_TAG.finditer(data):
        if found.start() < pos:
            continue
        cell = _CELL.match(data, data.rfind(b"<", 0, found.start()))
        if cell is None or cell.end() <= found.start():
            # Not in the expected order: parse every cell of these rows instead.
            result = _CELL.sub(_inert_cell, data)
            break
        out += [data[pos : cell.start()], _inert_cell(cell)]
        pos = cell.end()
    else:
        out.append(data[pos:])
        result = b"".join(out)
    if _FORMULA_TAG.search(result):
        # A formula outside any cell this parser recognises: refuse rather than pass it on.
        raise ValueError("工作表中有无法去除的公式")
    return result


# --- the worksheet after its rows ------------------------------------------------------------


def _elements(xml: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, local name) of each element at the top level of ``xml``, which may end
    with the closing tag of their parent (where the walk stops)."""
    depth, start, local = 0, 0, b""
    for match in _TAG.finditer(xml):
        if match.group(2) is None:
            continue
        closing, name, _attrs, empty = match.groups()
        if closing:
            if depth == 0:
                return
            depth -= 1
            if depth == 0:
                yield start, match.end(), local
        else:
            if depth == 0:
                start, local = match.start(), name.split(b":")[-1]
            if empty:
                if depth == 0:
                    yield start, match.end(), local
            else:
                depth += 1


_FORMULA_TEXT = re.compile(
    rb"<" + _ANY_PREFIX + rb"(?:f|formula|formula1|formula2)\b[^>]*>([^<]*)</", re.S
)
_RUNS_ON_ITS_OWN = re.compile(rb"<" + _ANY_PREFIX + rb"(?:controls|oleObjects|control|oleObject)\b")
_DROPPED = {b"controls", b"oleObjects", b"webPublishItems", b"dataConsolidate"}


def _formulas_inert(xml: bytes) -> bool:
    return all(
        formula_is_inert(text.decode("utf-8", "replace"))
        for text in _FORMULA_TEXT.findall(_plain(xml))
    )


def _filter_children(element: bytes, child: bytes) -> bytes | None:
    """``element`` without those ``child`` elements that hold a formula that is not inert;
    None when none is left. A ``count`` attribute is kept right."""
    head = _TAG.match(element)
    if head is None or head.group(4):
        return element
    inner_start = head.end()
    inner_end = element.rindex(b"</")
    inner = element[inner_start:inner_end]
    kept, removed, pos = [], 0, 0
    remaining = 0
    for start, end, local in _elements(inner):
        if local == child:
            if not _formulas_inert(inner[start:end]):
                kept.append(inner[pos:start])
                pos = end
                removed += 1
                continue
            remaining += 1
    if not removed:
        return element
    if not remaining:
        return None
    kept.append(inner[pos:])
    tag = head.group(0)
    count = _attr(tag, b"count")
    if count is not None and count.isdigit():
        tag = re.sub(rb"""(\scount=)(["'])\d+\2""", rb'\1"%d"' % remaining, tag)
    return tag + b"".join(kept) + element[inner_end:]


def inert_tail(xml: bytes) -> bytes:
    """The worksheet XML that follows ``sheetData`` (up to and including ``</worksheet>``)
    without controls, OLE objects and rules or extensions whose formulas could call out."""
    out, pos = [], 0
    for start, end, local in _elements(xml):
        element = xml[start:end]
        if local in _DROPPED:
            replacement = None
        elif local == b"AlternateContent":
            replacement = None if _RUNS_ON_ITS_OWN.search(element) else element
        elif local == b"conditionalFormatting":
            replacement = _filter_children(element, b"cfRule")
        elif local == b"dataValidations":
            replacement = _filter_children(element, b"dataValidation")
        elif local == b"extLst":
            replacement = _filter_children(element, b"ext")
        else:
            continue
        out += [xml[pos:start], replacement or b""]
        pos = end
    out.append(xml[pos:])
    return b"".join(out)


# --- workbook.xml ---------------------------------------------------------------------------------

_DEFINED_NAME = re.compile(
    r"<(?:[\w.-]+:)?definedName\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>([^<]*)</(?:[\w.-]+:)?definedName>)",
    re.S,
)


def inert_workbook(text: str) -> str:
    """workbook.xml without its list of external workbooks, web publishing, and the defined
    names that are more than a reference or a constant (print areas and filters stay)."""
    text = re.sub(
        r"<(?:[\w.-]+:)?(externalReferences|webPublishObjects)\b[^>]*?"
        r"(?:/>|>.*?</(?:[\w.-]+:)?\1>)",
        "",
        text,
        flags=re.S,
    )

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if formula_is_inert(match.group(1) or "") else ""

    text = _DEFINED_NAME.sub(keep, text)
    return re.sub(
        r"<(?:[\w.-]+:)?definedNames\b[^>]*?(?:/>|>\s*</(?:[\w.-]+:)?definedNames>)", "", text
    )


# --- the package ---------------------------------------------------------------------------------

# Parts that link out, refresh or run code (by the last segment of their relationship type).
_DROP_TYPES = frozenset(
    {
        "externalLink",
        "connections",
        "queryTable",
        "calcChain",
        "vbaProject",
        "vbaProjectSignature",
        "vbaProjectSignatureAgile",
        "vbaProjectSignatureV3",
        "control",
        "activeXControl",
        "activeXControlBinary",
        "ctrlProp",
        "oleObject",
        "webextensiontaskpanes",
        "attachedTemplate",
    }
)
# The same parts found by name, in case a relationship names them under another type.
_DROP_FOLDERS = ("xl/externalLinks/", "xl/queryTables/", "xl/activeX/", "xl/ctrlProps/")
_DROP_NAMES = ("xl/connections.xml", "xl/calcChain.xml")
_CT_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def _dropped_by_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1].lower()
    if base.startswith("vbaproject") and not base.endswith(".rels"):
        return True
    return name.startswith(_DROP_FOLDERS) or name in _DROP_NAMES


@dataclass
class _Rel:
    rid: str
    kind: str
    target: str
    external: bool

    @property
    def local(self) -> str:
        return self.kind.rsplit("/", 1)[-1]


def _source_of(rels_name: str) -> str | None:
    folder, _, base = rels_name.rpartition("_rels/")
    if not base.endswith(".rels") or (folder and not folder.endswith("/")):
        return None
    return folder + base[: -len(".rels")]


def _read_rels(data: bytes, source: str) -> list[_Rel]:
    rels = []
    for element in _parse(_decode(data)):
        target = element.get("Target", "")
        external = element.get("TargetMode") == "External"
        if not external:
            base = "/" if target.startswith("/") else "/" + posixpath.dirname(source)
            target = posixpath.normpath(posixpath.join(base, target)).lstrip("/")
        rels.append(_Rel(element.get("Id", ""), element.get("Type", ""), target, external))
    return rels


@dataclass
class Inert:
    """What ``annotate_roster`` drops or rewrites in the package, worked out once."""

    dropped: set[str] = field(default_factory=set)
    # .rels part -> ids of the relationships it loses
    removed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # part -> how it is rewritten (tables, pivot caches, charts, drawings)
    rewrites: dict[str, Callable[[str], str]] = field(default_factory=dict)

    @classmethod
    def of(cls, zin: zipfile.ZipFile, keep: set[str]) -> Inert:
        """The plan for ``zin``; parts in ``keep`` (the workbook, its sheets) are never
        dropped."""
        names = set(zin.namelist())
        rels: dict[str, list[_Rel]] = {}
        for name in names:
            source = _source_of(name)
            if source is not None and (source in names or source == ""):
                rels[source] = _read_rels(zin.read(name), source)
        plan = cls()
        sources_of: dict[str, set[str]] = defaultdict(set)
        kind_of: dict[str, str] = {}
        for source, items in rels.items():
            for rel in items:
                if rel.external:
                    continue
                sources_of[rel.target].add(source)
                kind_of[rel.target] = rel.local
                if rel.local in _DROP_TYPES:
                    plan.dropped.add(rel.target)
        plan.dropped |= {name for name in names if _dropped_by_name(name)}
        plan.dropped -= keep
        # What only dropped parts point to goes with them (an ActiveX control's binary...).
        frontier = list(plan.dropped)
        while frontier:
            for rel in rels.get(frontier.pop(), []):
                if rel.external or rel.target in plan.dropped or rel.target in keep:
                    continue
                if sources_of[rel.target] <= plan.dropped:
                    plan.dropped.add(rel.target)
                    frontier.append(rel.target)
        for source, items in rels.items():
            if source in plan.dropped:
                continue
            lost = {
                rel.rid
                for rel in items
                if (rel.local != "hyperlink" if rel.external else rel.target in plan.dropped)
            }
            if lost:
                plan.removed[_rels_name(source)] = lost
                if kind_of.get(source) == "chart":
                    plan.rewrites[source] = _without_external_data(lost)
                elif kind_of.get(source) == "drawing":
                    plan.rewrites[source] = _without_links(lost)
        for target, kind in kind_of.items():
            if target in plan.dropped or target not in names:
                continue
            if kind == "table":
                plan.rewrites[target] = _inert_table
            elif kind == "pivotCacheDefinition":
                plan.rewrites[target] = _no_refresh_on_load
        plan.dropped |= {_rels_name(part) for part in plan.dropped}
        return plan

    def rels(self, name: str, text: str) -> str:
        """The .rels part ``name`` without the relationships it loses."""
        lost = self.removed.get(name)
        if not lost:
            return text

        def keep(match: re.Match[str]) -> str:
            rid = re.search(r"""\sId=(["'])(.*?)\1""", match.group(0))
            return "" if rid and rid.group(2) in lost else match.group(0)

        return re.sub(
            r"<(?:[\w.-]+:)?Relationship\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?"
            r"(?:/>|>.*?</(?:[\w.-]+:)?Relationship>)",
            keep,
            text,
            flags=re.S,
        )

    def content_types(self, text: str) -> str:
        """[Content_Types].xml without the dropped parts, and an ordinary workbook type where
        a macro-enabled one was declared (its macros are gone)."""

        def keep(match: re.Match[str]) -> str:
            part = re.search(r"""\sPartName=(["'])/?(.*?)\1""", match.group(0))
            return "" if part and part.group(2) in self.dropped else match.group(0)

        text = re.sub(r"<(?:[\w.-]+:)?Override\b[^>]*?/>", keep, text)
        return text.replace(_CT_MACRO_MAIN, _CT_MAIN)

    def rewrite(self, name: str, data: bytes) -> bytes:
        """The new content of part ``name``, one of ``rewrites``."""
        return self.rewrites[name](_decode(data)).encode()


def _inert_table(text: str) -> str:
    """A table without its column formulas (they fill new rows) and no longer a query table."""
    text = re.sub(
        r"<(?:[\w.-]+:)?(calculatedColumnFormula|totalsRowFormula)\b[^>]*?"
        r"(?:/>|>.*?</(?:[\w.-]+:)?\1>)",
        "",
        text,
        flags=re.S,
    )
    if re.search(r"""\stableType=(["'])queryTable\1""", text):
        text = re.sub(r"""\s(tableType|connectionId|queryTableFieldId)=(["'])[^"']*\2""", "", text)
    return text


def _no_refresh_on_load(text: str) -> str:
    return re.sub(r"""\srefreshOnLoad=(["'])[^"']*\1""", "", text)


def _without_external_data(lost: set[str]) -> Callable[[str], str]:
    """A chart without the link to a workbook outside the package (it updates on opening)."""

    def change(text: str) -> str:
        def keep(match: re.Match[str]) -> str:
            rid = re.search(r"""\s[\w.-]+:id=(["'])(.*?)\1""", match.group(0))
            return "" if rid and rid.group(2) in lost else match.group(0)

        return re.sub(
            r"<((?:[\w.-]+:)?)externalData\b[^>]*?(?:/>|>.*?</\1externalData>)",
            keep,
            text,
            flags=re.S,
        )

    return change


def _without_links(lost: set[str]) -> Callable[[str], str]:
    """A drawing without pictures linked from outside the package (fetched on opening)."""

    def change(text: str) -> str:
        def keep(match: re.Match[str]) -> str:
            return "" if match.group(2) in lost else match.group(0)

        return re.sub(r"""\s[\w.-]+:link=(["'])(.*?)\1""", keep, text)

    return change
