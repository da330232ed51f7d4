"""Judging an uploaded roster file before any spreadsheet library sees it.

Two jobs, in this order, each of which can refuse the file with a file-level finding:

1. ``read_source``: the size limit is checked before a byte is read, so a huge upload costs
   nothing.
2. ``inspect_package``: an OLE compound file is either an old .xls or a password-protected .xlsx
   (Excel stores those as an OLE file with an "EncryptedPackage" stream). A zip must be an OOXML
   spreadsheet without macros, within sane limits of entries, declared sizes and compression
   ratio. Every XML part is then inflated here, with our own bounded inflater, and must
   decompress to exactly the size its header declares (so a zip bomb that lies about its sizes
   is refused after at most the declared number of bytes plus one chunk), must pass its CRC, and
   must not contain a DOCTYPE or entity declaration (so a "billion laughs" part never reaches an
   XML parser). The same pass measures how far the valued cells of each worksheet spread, which
   decides the reader (see ``plans.engine.roster_scan`` and ``plans.engine.roster``).

Which parts are looked at is decided by what the readers would open, never by a part's name
alone: every part that a relationship (``*.rels``) points to is scanned whatever it is called,
and a worksheet is any part a workbook's ``<sheet>`` or worksheet relationship points to. A
worksheet stored where pictures and binary data belong (``xl/media/``, ``*.bin``) is refused.

The scan also bounds what a file may expand to once read, because a small file can hold a great
deal of work for a reader: one shared string may be referenced by every cell (calamine copies it
for each), and one row may hold millions of elements (openpyxl builds each row whole). So a shared
string may not be longer than Excel allows a cell to be, a row may not have more elements or more
XML than Excel's 16,384 columns could fill, and calamine is used only when the text it would copy
for shared-string references stays small (see ``plans.engine.roster_scan``).

Whoever wrote the file, only a macro part (``vbaProject.bin``, or any part declared as one) or a
macro-enabled or binary main part makes it a macro-enabled workbook: SheetJS declares ``bin`` as
a macro-enabled binary workbook in every file it writes, with no such part. A refusal names what
the file really is (an .xls, .xlsb, .ods, Excel 2003 XML, a web page, CSV or other text, a
damaged zip) and says how to save it as .xlsx. A file that nothing points to and that is not XML
(a Finder ``.DS_Store``, ``__MACOSX/._*``) is ignored. A part that inflates beyond its declared
size, or declares more than a part may hold, is called a bomb only when its two headers agree
and (for the former) it keeps expanding; otherwise the zip is damaged.

These checks refuse the hostile files we know of. What they miss is caught by reading the file in
a child process with memory and time limits (``plans.engine.sandbox``), where a crash of a reader
becomes a refusal instead of the end of a worker.

No Django here.
"""

from __future__ import annotations

import codecs
import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree import ElementTree

from plans.engine import file_kinds as kinds
from plans.engine.findings import RosterFileError
from plans.engine.roster_scan import (
    COPY_TO_NEW,
    VALUE_MAX_CHARS,
    Scan,
    SheetScan,
    StringsScan,
)

# --- limits ----------------------------------------------------------------------------------

# An .xlsx written by Excel has a dozen parts; a few hundred allows for images and many sheets.
MAX_ZIP_ENTRIES = 1000
# Inflated size of all parts together. A 200,000-row roster is about 150 MB of sheet XML.
MAX_UNCOMPRESSED_TOTAL = 512 * 1024 * 1024
# Deflate compresses real sheet XML about 5-30 times; bombs reach about 1000 times.
MAX_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024
# Calamine holds every shared string in memory.
MAX_SHARED_STRINGS = 96 * 1024 * 1024
MAX_SMALL_PART = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


def _refuse(code: str, message: str, **kwargs) -> RosterFileError:
    return RosterFileError(code, message, **kwargs)


CORRUPT_MESSAGE = (
    "文件已损坏或不完整，无法读取。请在Excel中打开并确认内容正常，重新保存为.xlsx后再上传。"
)
_BOMB = (
    "文件解压后的体积异常大（可能是“压缩炸弹”），出于安全原因不予读取。"
    "请确认文件来源，在Excel中把名单复制到新的工作簿并保存为.xlsx后再上传。"
)
_DOCTYPE = (
    "文件中含有XML文档类型或实体声明（DOCTYPE/ENTITY），Excel保存的文件不会有这些内容，"
    "出于安全原因不予读取。请在Excel中把名单复制到新的工作簿并保存为.xlsx后再上传。"
)
_ODD_SHEET = (
    "文件中的工作表存放在图片或二进制数据的位置，Excel保存的文件不会这样，出于安全原因不予读取。"
    + COPY_TO_NEW
)


# --- 1. size ---------------------------------------------------------------------------------


def read_source(source: str | os.PathLike | bytes, max_bytes: int) -> bytes:
    """The file's bytes, after the size limit (checked first) and the empty-file check."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), max_bytes)
        return data
    size = os.stat(source).st_size
    _check_size(size, max_bytes)
    with open(source, "rb") as handle:
        data = handle.read(max_bytes + 1)
    _check_size(len(data), max_bytes)
    return data


def _check_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise _refuse(
            "file_empty", "文件是空的（0字节）。请打开参保名单模板，填写人员信息并保存后重新上传。"
        )
    if size > max_bytes:
        raise _refuse(
            "file_too_large",
            f"文件大小为{_megabytes(size)}，超过了{_megabytes(max_bytes)}的上限。"
            "请删除名单以外的内容（图片、多余的工作表等），或把名单分成几个文件分别上传。",
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}MB"


# --- 2. the package --------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORKBOOK_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_WORKSHEET_NAME = re.compile(r"xl/worksheets/[^/]+\.xml")
# Parts no spreadsheet reader parses: pictures, embedded objects, printer settings.
_UNPARSED = re.compile(
    r"(?:xl/media/|xl/embeddings/).*|.*\.(?:png|jpe?g|gif|bmp|emf|wmf|tiff?|wdp|bin|svg)",
    re.IGNORECASE,
)


@dataclass
class Package:
    """What the inspection learnt: whether calamine may read every sheet in bounded memory,
    and whether any cell may hold more than ``VALUE_MAX_CHARS`` characters of text."""

    dense_safe: bool = True
    worksheets: list[str] = field(default_factory=list)
    long_text: bool = False


def inspect_package(data: bytes) -> Package:
    """Refuse anything that is not a plain, honest .xlsx; see the module docstring."""
    if data.startswith(_OLE_MAGIC):
        if kinds.ole_is_encrypted(data):
            raise _refuse(
                "file_encrypted",
                "文件设置了打开密码，系统无法读取。请在Excel中打开文件，在“文件→信息→保护工作簿→"
                "用密码进行加密”中删除密码并保存，然后重新上传。",
            )
        raise _refuse(
            "file_not_xlsx", kinds.XLS if kinds.ole_is_workbook(data) else kinds.OLE_OTHER
        )
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if kinds.looks_like_text(data):
            raise _refuse("file_not_xlsx", kinds.text_message(data))
        raise _refuse("file_not_xlsx", kinds.NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,  # a damaged "version needed" field
    ):
        raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _refuse("file_corrupt", _BOMB)

    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        # OPC part names are case-insensitive; two entries for one part would let the checked
        # copy differ from the one the reader uses.
        key = info.filename.lower()
        if key in by_name:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE)
        by_name[key] = info
    _check_declared_sizes(data, infos)
    if "xl/workbook.bin" in by_name:
        raise _refuse("file_not_xlsx", kinds.XLSB)
    if any(name.endswith("vbaproject.bin") for name in by_name):
        raise _refuse("file_not_xlsx", kinds.macro_message())

    types_info = by_name.get("[content_types].xml")
    if types_info is None:
        raise _refuse("file_not_xlsx", _opendocument_message(data, by_name.get("mimetype")))
    if types_info.file_size > MAX_SMALL_PART:
        raise _too_big(data, types_info)
    overrides = _content_types(b"".join(_inflate(data, types_info)))
    _refuse_macros(data, by_name, overrides)
    content_types = {ct.lower() for ct in overrides.values()}
    if not content_types & set(_WORKBOOK_TYPES):
        raise _refuse("file_not_xlsx", kinds.not_spreadsheet_message(content_types))

    parts = _Parts(data, by_name, overrides)
    worksheets, shared = parts.sheets_and_strings()
    package = Package()
    strings = StringsScan()
    for key in sorted(shared):
        info = by_name[key]
        if info.file_size > MAX_SHARED_STRINGS:
            raise _too_big(data, info)
        strings.start_part()
        _scan_part(data, info, strings)
    package.long_text = strings.longest > VALUE_MAX_CHARS
    for key in sorted(worksheets):
        info = by_name[key]
        if info.is_dir() or _UNPARSED.fullmatch(key):
            raise _refuse("file_corrupt", _ODD_SHEET)
        scan = SheetScan(strings)
        _scan_part(data, info, scan)
        package.worksheets.append(info.filename)
        package.dense_safe &= scan.dense_safe()
        package.long_text |= scan.long_text
    # No worksheet found where the readers look: they may still find one, so no dense reader.
    package.dense_safe &= bool(package.worksheets)
    done = parts.parsed | worksheets | shared
    for info in infos:
        key = info.filename.lower()
        if info is types_info or info.is_dir() or key in done:
            continue
        if _UNPARSED.fullmatch(key) and key not in parts.targets:
            continue
        if key not in parts.targets and not _declared_xml(key, overrides):
            # A file nothing points to and no content type calls XML (a Finder ".DS_Store",
            # "__MACOSX/._*" from a Mac's zip tool, a "Thumbs.db"): no reader opens it. It is
            # still inflated (bounded, CRC-checked) but judged as XML only if it looks like XML.
            _check_stray_part(data, info)
            continue
        _scan_part(data, info, None)
    return package


# --- relationships: which parts the readers open ----------------------------------------------

_RELS_PART = re.compile(r"(?:(.*)/)?_rels/([^/]*)\.rels")
# Relationship types (the last segment of the type's URI) whose targets no reader parses as
# XML: pictures, embedded files, printer settings. Their targets are not scanned unless some
# other relationship, a content type or their name says they are XML.
_BINARY_TARGETS = frozenset(
    {
        "image",
        "oleobject",
        "package",
        "printersettings",
        "video",
        "audio",
        "media",
        "hdphoto",
        "thumbnail",
    }
)
_SHEET_TYPES = frozenset(
    {"worksheet", "chartsheet", "dialogsheet", "xlmacrosheet", "xlintlmacrosheet"}
)


@dataclass
class _Relationship:
    id: str
    type: str
    # The part names (lower case) the target may mean: resolved as the OPC specification says,
    # and joined without resolving ``..``, as calamine does.
    targets: tuple[str, ...]


class _Parts:
    """The package's relationships, read from every ``*.rels`` part, and what they point to."""

    def __init__(self, data: bytes, by_name: dict[str, zipfile.ZipInfo], overrides: dict):
        self.data = data
        self.by_name = by_name
        self.overrides = overrides
        self.parsed: set[str] = set()
        self.rels: dict[str, list[_Relationship]] = {}
        self.targets: set[str] = set()
        for key in sorted(by_name):
            found = _RELS_PART.fullmatch(key)
            if found is None or by_name[key].is_dir():
                continue
            folder = f"{found.group(1)}/" if found.group(1) else ""
            source = folder + found.group(2)
            relationships = list(self._relationships(key, folder))
            self.rels[source] = relationships
            for relationship in relationships:
                if relationship.type not in _BINARY_TARGETS:
                    self.targets.update(relationship.targets)

    def _xml(self, key: str):
        """A small part's root element, after the DOCTYPE check; marks the part as scanned."""
        info = self.by_name[key]
        if info.file_size > MAX_SMALL_PART:
            raise _too_big(self.data, info)
        xml = b"".join(_inflate(self.data, info))
        _refuse_doctype(xml, _encoding_of(xml))
        self.parsed.add(key)
        try:
            # Safe: without a DOCTYPE (refused just above) expat has no entities to expand.
            return ElementTree.fromstring(xml)  # noqa: S314
        except ElementTree.ParseError:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None

    def _relationships(self, key: str, folder: str) -> Iterator[_Relationship]:
        for element in self._xml(key).iter():
            if _local(element.tag) != "Relationship":
                continue
            if element.get("TargetMode", "").lower() == "external":
                continue
            target = element.get("Target")
            if not target:
                continue
            kind = element.get("Type", "").rstrip("/").rsplit("/", 1)[-1].lower()
            yield _Relationship(element.get("Id", ""), kind, _resolve(folder, target))

    def _existing(self, names: Iterable[str]) -> set[str]:
        return {name for name in names if name in self.by_name}

    def sheets_and_strings(self) -> tuple[set[str], set[str]]:
        """The worksheets and shared-string parts any reader might open."""
        overrides = self.overrides
        workbooks = {p for p, ct in overrides.items() if ct.lower() in _WORKBOOK_TYPES}
        workbooks.add("xl/workbook.xml")
        folders = {"xl/"}
        for relationship in self.rels.get("", []):
            if relationship.type == "officedocument":
                workbooks.update(relationship.targets)
                # calamine opens "workbook.xml" and "sharedStrings.xml" in the folder of the
                # package's main part, whatever the main part is called.
                folders.update(_folder(target) for target in relationship.targets)
        workbooks.update(folder + "workbook.xml" for folder in folders)
        sheets = {p for p, ct in overrides.items() if ct.lower() == _WORKSHEET_TYPE}
        sheets.update(key for key in self.by_name if _WORKSHEET_NAME.fullmatch(key))
        shared = {p for p, ct in overrides.items() if ct.lower() == _SHARED_STRINGS_TYPE}
        shared.update(folder + "sharedstrings.xml" for folder in folders)
        for workbook in self._existing(workbooks):
            ids = self._sheet_ids(workbook)
            for relationship in self.rels.get(workbook, []):
                if relationship.id in ids or relationship.type in _SHEET_TYPES:
                    sheets.update(relationship.targets)
                elif relationship.type == "sharedstrings":
                    shared.update(relationship.targets)
        # A part read above (a workbook, a relationships part) is scanned again if a reader
        # may also open it as a sheet or as shared strings.
        return self._existing(sheets), self._existing(shared)

    def _sheet_ids(self, workbook: str) -> set[str]:
        """The relationship ids a workbook's ``<sheet>`` elements name (in any attribute whose
        local name is ``id``, as calamine reads them)."""
        ids: set[str] = set()
        for element in self._xml(workbook).iter():
            if _local(element.tag) == "sheet":
                ids.update(v for k, v in element.attrib.items() if _local(k) == "id")
        return ids


def _folder(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/" if "/" in name else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _resolve(folder: str, target: str) -> tuple[str, ...]:
    target = unquote(target.split("#", 1)[0]).replace("\\", "/")
    joined = target.lstrip("/") if target.startswith("/") else folder + target
    resolved = posixpath.normpath(joined) if joined else joined
    return tuple(dict.fromkeys((resolved.lower(), joined.lower())))


_MACRO_TYPES = ("macroenabled", "vbaproject")


def _declared_type(key: str, overrides: dict[str, str]) -> str:
    """A part's content type as [Content_Types].xml gives it: its override, or the default for
    its extension."""
    declared = overrides.get(key)
    if declared is None and "." in key.rsplit("/", 1)[-1]:
        declared = overrides.get("*." + key.rsplit(".", 1)[-1])
    return (declared or "").lower()


def _declared_xml(key: str, overrides: dict[str, str]) -> bool:
    declared = _declared_type(key, overrides)
    return "xml" in declared or key.endswith((".xml", ".rels", ".vml"))


def _refuse_macros(data: bytes, by_name: dict[str, zipfile.ZipInfo], overrides: dict) -> None:
    """Refuse a macro-enabled workbook: one whose main part is declared macro-enabled (.xlsm,
    .xltm, .xlam) or binary (.xlsb), or that declares a macro part it holds. A content type
    that the list merely mentions for an extension no part has (SheetJS declares ``bin`` as a
    macro-enabled binary workbook in every file) is no macro."""
    main = ["xl/workbook.xml"]
    rels = by_name.get("_rels/.rels")
    if rels is not None and rels.file_size <= MAX_SMALL_PART:
        xml = b"".join(_inflate(data, rels))
        _refuse_doctype(xml, _encoding_of(xml))
        try:
            # Safe: without a DOCTYPE (refused just above) expat has no entities to expand.
            root = ElementTree.fromstring(xml)  # noqa: S314
        except ElementTree.ParseError:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None
        for element in root.iter():
            kind = element.get("Type", "").rstrip("/").rsplit("/", 1)[-1].lower()
            if _local(element.tag) == "Relationship" and kind == "officedocument":
                main.extend(_resolve("", element.get("Target", "")))
    for key in main:
        declared = _declared_type(key, overrides)
        if "binary" in declared:
            raise _refuse("file_not_xlsx", kinds.XLSB)
        if any(mark in declared for mark in _MACRO_TYPES):
            raise _refuse("file_not_xlsx", kinds.macro_message())
    for key in by_name:
        if any(mark in overrides.get(key, "").lower() for mark in _MACRO_TYPES):
            raise _refuse("file_not_xlsx", kinds.macro_message())


def _check_stray_part(data: bytes, info: zipfile.ZipInfo) -> None:
    chunks = _inflate(data, info)
    if _looks_like_xml(next(chunks, b"")[:64]):
        _scan_part(data, info, None)
        return
    for _ in chunks:  # to the end, for the size and CRC checks
        pass


def _looks_like_xml(head: bytes) -> bool:
    """Whether an XML parser would take these bytes for XML at all: a byte-order mark, or
    ``<`` after white space, in UTF-8 or UTF-16."""
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        return True
    return head.lstrip(b" \t\r\n").startswith(b"<")


def _opendocument_message(data: bytes, mimetype: zipfile.ZipInfo | None) -> str:
    """A zip without a content-type list: an OpenDocument file names itself in "mimetype"."""
    if mimetype is None or mimetype.file_size > 200:
        return kinds.NOT_XLSX
    return kinds.opendocument_message(b"".join(_inflate(data, mimetype)).strip())


def _check_declared_sizes(data: bytes, infos: Sequence[zipfile.ZipInfo]) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        too_much = total > MAX_UNCOMPRESSED_TOTAL or (
            info.file_size > RATIO_CHECK_FROM
            and info.file_size > MAX_RATIO * max(info.compress_size, 1)
        )
        if too_much:
            # A bomb states its sizes alike in both headers; damage rarely hits both the same.
            bomb = _headers_agree(data, info)
            raise _refuse("file_corrupt", _BOMB if bomb else CORRUPT_MESSAGE)


def _too_big(data: bytes, info: zipfile.ZipInfo) -> RosterFileError:
    """A part declared larger than it may be: a bomb, unless its headers disagree (damage)."""
    return _refuse("file_corrupt", _BOMB if _headers_agree(data, info) else CORRUPT_MESSAGE)


def _headers_agree(data: bytes, info: zipfile.ZipInfo) -> bool:
    """Whether a part's local header states what the central directory says of it (method,
    and CRC and sizes unless they follow the data)."""
    header = data[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        return False
    flags, method, _, _, crc, compressed, size = struct.unpack("<HHHHIII", header[6:26])
    if method != info.compress_type:
        return False
    if flags & 0x8:
        return True
    pairs = ((crc, info.CRC), (compressed, info.compress_size), (size, info.file_size))
    return all(local == central or local == 0xFFFFFFFF for local, central in pairs)


def _content_types(xml: bytes) -> dict[str, str]:
    """PartName (without the leading slash, lower case) -> content type, from the overrides."""
    _refuse_doctype(xml, _encoding_of(xml))
    try:
        # Safe: without a DOCTYPE (refused just above) expat has no entities to expand.
        root = ElementTree.fromstring(xml)  # noqa: S314
    except ElementTree.ParseError:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None
    overrides: dict[str, str] = {}
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        content_type = element.get("ContentType", "")
        if tag == "Override":
            overrides[element.get("PartName", "").lstrip("/").lower()] = content_type
        elif tag == "Default":
            overrides["*." + element.get("Extension", "").lower()] = content_type
    return overrides


# --- inflating parts ourselves ---------------------------------------------------------------


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes in chunks, never more than its declared size.

    zipfile would stop at the declared size and only compare the CRC, which a crafted header
    can match; the reader behind us (a Rust zip crate) inflates the whole stream. So the deflate
    stream must end exactly at the declared size, or the file is refused.
    """
    if info.flag_bits & 0x1:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    start = _data_offset(data, info)
    end = start + info.compress_size
    if end > len(data):
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    raw = memoryview(data)[start:end]
    declared = info.file_size
    crc = 0
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != declared:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE)
        for offset in range(0, declared, _CHUNK):
            chunk = bytes(raw[offset : offset + _CHUNK])
            crc = zlib.crc32(chunk, crc)
            yield chunk
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        position = 0
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
                elif position < len(raw):
                    chunk = inflater.decompress(raw[position : position + _CHUNK], _CHUNK)
                    position += _CHUNK
                else:
                    # Every input byte is in and the stream has not ended: a truncated part.
                    chunk = inflater.flush(_CHUNK)
                    if not chunk and not inflater.eof:
                        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
                produced += len(chunk)
                if produced > declared:
                    raise _overflow(data, info, inflater, raw, position, produced)
                if chunk:
                    crc = zlib.crc32(chunk, crc)
                    yield chunk
        except zlib.error:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None
        if produced != declared:
            raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    else:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    if crc != info.CRC:
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)


# How far an overflowing part is followed to tell a bomb from damage.
_BOMB_PROBE = 64 * 1024 * 1024


def _overflow(data, info, inflater, raw, position: int, produced: int) -> RosterFileError:
    """A part inflates beyond its declared size: a bomb whose headers lie, or a damaged file.
    Headers that disagree, or a stream that ends or breaks within what a real part could
    expand to (bounded, output discarded), mean damage; only a stream that keeps going is
    called a bomb."""
    if not _headers_agree(data, info):
        return _refuse("file_corrupt", CORRUPT_MESSAGE)
    limit = min(MAX_RATIO * max(info.compress_size, 1) + RATIO_CHECK_FROM, _BOMB_PROBE)
    try:
        while produced <= limit and not inflater.eof:
            if inflater.unconsumed_tail:
                chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            elif position < len(raw):
                chunk = inflater.decompress(raw[position : position + _CHUNK], _CHUNK)
                position += _CHUNK
            else:
                break
            produced += len(chunk)
    except zlib.error:
        return _refuse("file_corrupt", CORRUPT_MESSAGE)
    return _refuse("file_corrupt", _BOMB if produced > limit else CORRUPT_MESSAGE)


def _data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    header = data[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


# --- scanning parts --------------------------------------------------------------------------

_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_OVERLAP = 64


def _encoding_of(head: bytes) -> str:
    """The encoding an XML parser would detect from the first bytes (UTF-8 or UTF-16)."""
    if head.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if head.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    if head[:2] == b"\x00\x00":
        # UTF-32 and other exotic encodings never come out of Excel.
        raise _refuse("file_corrupt", CORRUPT_MESSAGE)
    return "utf-8"


def _patterns(encoding: str) -> tuple[bytes, tuple[bytes, ...]]:
    """``<!`` and the declarations, in the part's encoding. Every markup declaration starts
    with ``<!`` (so do comments and CDATA, which Excel's parts hardly ever contain), so one
    search for it usually settles a chunk."""
    return "<!".encode(encoding), tuple(p.decode().encode(encoding) for p in _DECLARATIONS)


def _refuse_doctype(buffer: bytes, encoding: str) -> bool:
    """Refuse a DOCTYPE or ENTITY declaration; return whether the buffer has any ``<!``
    (a comment or CDATA section, which Excel does not write in a worksheet)."""
    opener, patterns = _patterns(encoding)
    if opener not in buffer:
        return False
    if any(pattern in buffer for pattern in patterns):
        raise _refuse("file_corrupt", _DOCTYPE)
    return True


def _scan_part(data: bytes, info: zipfile.ZipInfo, scan: Scan | None) -> None:
    """Inflate one part (bounded, CRC-checked), refuse declarations, feed the scan.

    A scan always sees UTF-8: a part in UTF-16 (legal, but Excel never writes it) is transcoded
    for it, and marks the scan unusual."""
    tail = b""
    encoding = ""
    decoder = None
    for chunk in _inflate(data, info):
        if not encoding:
            encoding = _encoding_of(chunk)
            if scan is not None and encoding != "utf-8":
                scan.unusual = True
                decoder = codecs.getincrementaldecoder(encoding)()
        buffer = tail + chunk if tail else chunk
        if _refuse_doctype(buffer, encoding) and scan is not None:
            # A comment can hide a tag from a byte scan: no fast reader then.
            scan.unusual = True
        if scan is not None:
            if decoder is not None:
                try:
                    chunk = decoder.decode(chunk).encode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    raise _refuse("file_corrupt", CORRUPT_MESSAGE) from None
            scan.feed(chunk)
        tail = buffer[-_OVERLAP:]
    if scan is not None:
        scan.finish()
