"""What the parts of the annotated roster share: the sheet names, colours and limits (also used
by the blank template in ``enrollment.workbooks``) and the helpers for editing XML as text.

Nothing here imports the other modules of ``enrollment.annotate``.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

ROSTER_SHEET = "参保名单"
INSTRUCTIONS_SHEET = "填表说明"
SUMMARY_SHEET = "检查结果"
SUMMARY_TITLE = "名单检查结果"
AUTHOR = "名单检查"
# Starts every comment text the check writes, so that a later check can tell its own notes from
# the clerk's and remove them: an annotated file is often fixed and uploaded again.
MARK = "【名单检查】"
HEADER_ROW = 2
ERROR_RGB = "FFFF9999"
WARNING_RGB = "FFFFE699"
# Excel slows to a crawl with tens of thousands of comments and allows 65,530 hyperlinks per
# sheet; past these limits cells are still coloured and the summary says what was left out.
MAX_COMMENTS = 10_000
MAX_LISTED = 50_000
CHUNK = 1 << 20
LAST_ROW = 1_048_576

_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# One token of XML: a comment, a processing instruction, CDATA, or a tag (groups: "/" of a
# closing tag, the name, the attributes, "/" of an empty element).
_TAG = re.compile(
    rb"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>"
    rb"""|<(/?)([\w:.-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""",
    re.S,
)


def _esc(text: object, *, quote: bool = False) -> str:
    text = _BAD_XML_CHARS.sub("", str(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def _decode(data: bytes) -> str:
    """XML text of a small part. UTF-16 parts (rare, but allowed) come back declared UTF-8,
    since everything rewritten here is written as UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
        return re.sub(r"""encoding=(["'])[^"']*\1""", 'encoding="UTF-8"', text, count=1)
    return data.decode("utf-8-sig")


def _parse(text: str) -> ElementTree.Element:
    # Python's expat refuses external entities and, since 2.4, entity expansion bombs; these
    # small package parts are only read here, never written back through ElementTree.
    return ElementTree.fromstring(text.encode())  # noqa: S314


def _prefix(text: str, local: str) -> str:
    """The namespace prefix (with its colon, or empty) that ``text`` uses for ``local``."""
    match = re.search(rf"<(\w+:)?{local}[\s/>]", text)
    return match.group(1) or "" if match else ""


def _set_attr(tag: str, name: str, value: str) -> str:
    """``tag`` (a start tag) with attribute ``name`` set to ``value``."""
    pattern = re.compile(rf"""(\s{re.escape(name)}=)(["'])[^"']*\2""")
    if pattern.search(tag):
        return pattern.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'
