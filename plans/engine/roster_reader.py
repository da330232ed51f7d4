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
_NOT_XLSX = (
    "文件不是Excel工作簿（.xlsx）。请上传用Excel或WPS保存的参保名单，"
    "文件类型选“Excel工作簿(*.xlsx)”。"
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
        if _ole_is_encrypted(data):
            raise _refuse(
                "file_encrypted",
                "文件设置了打开密码，系统无法读取。请在Excel中打开文件，在“文件→信息→保护工作簿→"
                "用密码进行加密”中删除密码并保存，然后重新上传。",
            )
        raise _refuse(
            "file_not_xlsx",
            "这是旧版Excel（.xls）或其他Office文件，系统只接受.xlsx格式。请用Excel打开后"
            "“另存为”，文件类型选“Excel工作簿(*.xlsx)”，再重新上传。",
        )
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if _looks_like_text(data):
            raise _refuse(
                "file_not_xlsx",
                "文件是文本或CSV文件，只是扩展名为.xlsx，并不是Excel工作簿。请用Excel打开后"
                "“另存为”，文件类型选“Excel工作簿(*.xlsx)”，再重新上传。",
            )
        raise _refuse("file_not_xlsx", _NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
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
    if any(name.endswith("vbaproject.bin") for name in by_name):
        raise _refuse("file_not_xlsx", _macro_message())
    _check_declared_sizes(infos)

    types_info = by_name.get("[content_types].xml")
    if types_info is None:
        raise _refuse("file_not_xlsx", _NOT_XLSX)
    if types_info.file_size > MAX_SMALL_PART:
        raise _refuse("file_corrupt", _BOMB)
    overrides = _content_types(b"".join(_inflate(data, types_info)))
    content_types = {ct.lower() for ct in overrides.values()}
    if any("macroenabled" in ct or "vbaproject" in ct for ct in content_types):
        raise _refuse("file_not_xlsx", _macro_message())
    if not content_types & set(_WORKBOOK_TYPES):
        raise _refuse("file_not_xlsx", _not_spreadsheet_message(content_types))

    parts = _Parts(data, by_name, overrides)
    worksheets, shared = parts.sheets_and_strings()
    package = Package()
    strings = StringsScan()
    for key in sorted(shared):
        info = by_name[key]
        if info.file_size > MAX_SHARED_STRINGS:
            raise _refuse("file_corrupt", _BOMB)
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
            raise _refuse("file_corrupt", _BOMB)
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


def _macro_message() -> str:
    return (
        "文件是启用宏的工作簿（例如.xlsm），出于安全原因不予接收。请在Excel中“另存为”，"
        "文件类型选“Excel工作簿(*.xlsx)”（不含宏），再重新上传。"
    )


def _not_spreadsheet_message(content_types: set[str]) -> str:
    if any("wordprocessingml" in ct for ct in content_types):
        return "文件是Word文档，不是Excel工作簿。请上传用Excel填写的参保名单（.xlsx）。"
    if any("presentationml" in ct for ct in content_types):
        return "文件是PowerPoint文档，不是Excel工作簿。请上传用Excel填写的参保名单（.xlsx）。"
    return _NOT_XLSX


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            # A multi-byte character cut off at the end of the sample is still text.
            if exc.start >= len(head) - 4:
                return True
            continue
        return True
    return False


def _check_declared_sizes(infos: Sequence[zipfile.ZipInfo]) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        if total > MAX_UNCOMPRESSED_TOTAL:
            raise _refuse("file_corrupt", _BOMB)
        if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise _refuse("file_corrupt", _BOMB)


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
                    raise _refuse("file_corrupt", _BOMB)
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


# --- OLE compound files ----------------------------------------------------------------------

_ENCRYPTED_NAMES = ("encryptedpackage",)
_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE


def _ole_is_encrypted(data: bytes) -> bool:
    """True when the compound file has an "EncryptedPackage" stream (a password-protected
    .xlsx). A header that cannot be followed falls back to looking for the stream's name."""
    try:
        names = _ole_stream_names(data)
    except (ValueError, IndexError, struct.error):
        return "EncryptedPackage".encode("utf-16-le") in data
    return any(name.lower() in _ENCRYPTED_NAMES for name in names)


def _ole_stream_names(data: bytes) -> list[str]:
    """Names in the directory of a compound file (MS-CFB), following its FAT chains."""
    if len(data) < 512:
        raise ValueError("short header")
    sector_shift = struct.unpack_from("<H", data, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise ValueError("bad sector size")
    sector_size = 1 << sector_shift
    fat_sectors, first_directory = struct.unpack_from("<II", data, 0x2C)
    first_difat, difat_count = struct.unpack_from("<II", data, 0x44)
    max_sectors = len(data) // sector_size + 1

    def sector(number: int) -> bytes:
        offset = (number + 1) * sector_size
        if number >= max_sectors or offset + sector_size > len(data):
            raise ValueError("sector out of range")
        return data[offset : offset + sector_size]

    fat_locations = [n for n in struct.unpack_from("<109I", data, 0x4C) if n != _FREE]
    next_difat = first_difat
    for _ in range(min(difat_count, max_sectors)):
        if next_difat in (_FREE, _END_OF_CHAIN):
            break
        block = sector(next_difat)
        entries = struct.unpack(f"<{sector_size // 4}I", block)
        fat_locations.extend(n for n in entries[:-1] if n != _FREE)
        next_difat = entries[-1]
    fat: list[int] = []
    for number in fat_locations[: min(fat_sectors, max_sectors)]:
        fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(number)))

    names: list[str] = []
    current = first_directory
    for _ in range(max_sectors):
        if current in (_END_OF_CHAIN, _FREE):
            break
        block = sector(current)
        for offset in range(0, len(block) - 127, 128):
            length = struct.unpack_from("<H", block, offset + 64)[0]
            kind = block[offset + 66]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.append(block[offset : offset + length - 2].decode("utf-16-le", "replace"))
        current = fat[current]
    return names
