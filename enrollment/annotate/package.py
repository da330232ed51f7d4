"""Surgery on the .xlsx zip package: its parts, their relationships and content types.

The package is copied part by part and only what must change is rewritten: the marked sheet,
and whatever ``inert`` takes out so that the copy runs nothing; other sheets' values, drawings
and the rest pass through untouched, and no formula is evaluated.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable
from typing import IO
from xml.sax import saxutils

from enrollment.annotate.base import _decode, _parse

_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"

_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_SHEET_KINDS = ("/worksheet", "/chartsheet", "/dialogsheet")
_CELL_SHEET_KINDS = ("/worksheet", "/xlMacrosheet", "/xlIntlMacrosheet")


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _relationships(zin: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part name) for ``part``."""
    name = _rels_name(part)
    if name not in zin.namelist():
        return {}
    result = {}
    for rel in _parse(_decode(zin.read(name))):
        target = rel.get("Target", "")
        if rel.get("TargetMode") != "External":
            base = "/" if target.startswith("/") else "/" + posixpath.dirname(part)
            target = posixpath.normpath(posixpath.join(base, target)).lstrip("/")
        result[rel.get("Id", "")] = (rel.get("Type", ""), target)
    return result


def _add_relationships(text: str | None, rels: list[tuple[str, str, str]]) -> str:
    """A .rels part with ``(id, type, target)`` relationships added; targets are absolute."""
    if text is None:
        text = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        text += f'<Relationships xmlns="{_PKG_R}"></Relationships>'
    text = re.sub(r"<Relationships([^>]*)/>", r"<Relationships\1></Relationships>", text)
    added = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target="/{target}"/>' for rid, kind, target in rels
    )
    end = text.rindex("</Relationships>")
    return text[:end] + added + text[end:]


def _fresh_id(taken: Iterable[str], stem: str = "rIdCheck") -> str:
    taken = set(taken)
    number = 1
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"


def _fresh_part(names: set[str], pattern: str) -> str:
    number = 1
    while pattern.format(number).lower() in names:
        number += 1
    return pattern.format(number)


def _content_types(text: str, *, defaults: dict[str, str], overrides: dict[str, str]) -> bytes:
    added = ""
    for extension, kind in defaults.items():
        if not re.search(rf"""Extension=["']{extension}["']""", text, re.I):
            added += f'<Default Extension="{extension}" ContentType="{kind}"/>'
    for part, kind in overrides.items():
        added += f'<Override PartName="/{part}" ContentType="{kind}"/>'
    at = text.rindex("</Types>")
    return (text[:at] + added + text[at:]).encode()


def _info(name: str, like: zipfile.ZipInfo | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=like.date_time if like else (2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if like is not None and like.compress_type == zipfile.ZIP_STORED:
        info.compress_type = zipfile.ZIP_STORED
    return info


def _stream(
    zin: zipfile.ZipFile,
    zout: zipfile.ZipFile,
    name: str,
    copy: Callable[[IO[bytes], IO[bytes]], object],
) -> None:
    info = zin.getinfo(name)
    # Entries over 2 GiB need ZIP64 headers, which must be chosen before the size is known.
    big = info.file_size > 1 << 30
    with zin.open(info) as src, zout.open(_info(name, info), "w", force_zip64=big) as dst:
        copy(src, dst)


def _first_cell_text(zin: zipfile.ZipFile, part: str, strings: str | None) -> str | None:
    """The text in A1 of a sheet, read from the start of its part (and of the shared strings
    when A1 refers to one), or None when it cannot be had cheaply."""
    with zin.open(part) as stream:
        head = stream.read(1 << 16)
    cell = re.search(
        rb"""<(?:\w+:)?c\b[^>]*?\sr=["']A1["'][^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)""", head, re.S
    )
    if cell is None or not cell.group(1):
        return None
    content = cell.group(1)
    if re.search(rb"""\st=["']s["']""", cell.group(0)[: cell.start(1) - cell.start()]):
        index = re.search(rb"<(?:\w+:)?v>\s*(\d+)\s*<", content)
        if index is None or strings is None or strings not in zin.namelist():
            return None
        with zin.open(strings) as stream:
            data = stream.read(1 << 20)
        items = re.findall(rb"<(?:\w+:)?si\b.*?</(?:\w+:)?si>", data, re.S)
        if int(index.group(1)) >= len(items):
            return None
        content = items[int(index.group(1))]
    texts = re.findall(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", content, re.S)
    return saxutils.unescape(b"".join(texts).decode("utf-8", "replace"))
