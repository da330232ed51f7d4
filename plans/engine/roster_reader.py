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
   decides the reader (see ``_SheetScan`` and ``plans.engine.roster``).

No Django here.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

from plans.engine.findings import ERROR, Finding

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
# Cells in calamine's dense rectangle (about 32 bytes each) before openpyxl is used instead.
DENSE_CELL_LIMIT = 5_000_000
_CHUNK = 1024 * 1024


class RosterFileError(Exception):
    """The file as a whole cannot be used; ``finding`` says why, in the contract's terms."""

    def __init__(self, code: str, message: str, *, column: str | None = None, col=None):
        self.finding = Finding(
            code=code, level=ERROR, row=None, column=column, message=message, col=col
        )
        super().__init__(message)


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
    """What the inspection learnt: whether calamine may read every sheet in bounded memory."""

    dense_safe: bool = True
    worksheets: list[str] = field(default_factory=list)


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

    worksheets = {p for p, ct in overrides.items() if ct.lower() == _WORKSHEET_TYPE}
    shared = {p for p, ct in overrides.items() if ct.lower() == _SHARED_STRINGS_TYPE}
    package = Package()
    for info in infos:
        name = info.filename
        if info is types_info or info.is_dir() or _UNPARSED.fullmatch(name):
            continue
        lowered = name.lower()
        if lowered in shared and info.file_size > MAX_SHARED_STRINGS:
            raise _refuse("file_corrupt", _BOMB)
        is_sheet = lowered in worksheets or bool(_WORKSHEET_NAME.fullmatch(lowered))
        scan = _SheetScan() if is_sheet else None
        _scan_part(data, info, scan)
        if scan is not None:
            package.worksheets.append(name)
            package.dense_safe &= scan.dense_safe()
    return package


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


def _refuse_doctype(buffer: bytes, encoding: str) -> None:
    opener, patterns = _patterns(encoding)
    if opener in buffer and any(pattern in buffer for pattern in patterns):
        raise _refuse("file_corrupt", _DOCTYPE)


def _scan_part(data: bytes, info: zipfile.ZipInfo, scan: _SheetScan | None) -> None:
    """Inflate one part (bounded, CRC-checked), refuse declarations, feed the sheet scan."""
    tail = b""
    encoding = ""
    for chunk in _inflate(data, info):
        if not encoding:
            encoding = _encoding_of(chunk)
            if scan is not None and encoding != "utf-8":
                scan.unusual = True
        buffer = tail + chunk if tail else chunk
        _refuse_doctype(buffer, encoding)
        if scan is not None:
            scan.feed(chunk)
        tail = buffer[-_OVERLAP:]
    if scan is not None:
        scan.finish()


_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>/]")
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s>/]")
# A valued cell (not self-closing) in a row of five or more significant digits.
_FAR_ROW = re.compile(rb'<c r="[A-Z]+0*([1-9][0-9]{4,})"[^>]*(?<!/)>')
# A cell tag whose first attribute is not an upper-case A1 reference.
_ODD_CELL = re.compile(rb'<c(?:>|/>|\s(?!r="[A-Z]))')
# Rows up to here are not looked at one by one: they bound the rectangle well enough.
_UNCHECKED_ROWS = 9_999
# A tag longer than this is not something a spreadsheet program writes.
_MAX_CARRY = 1024 * 1024
_ROOT_SEARCH = 65536


class _SheetScan:
    """How far the valued cells of a worksheet spread, without parsing the XML.

    Calamine allocates the rectangle from the first to the last valued cell. Its height is
    bounded by the highest row number of a valued cell: only cells in rows of five or more digits
    are looked at, the rows below bound it by 9,999. Its width is the highest column of a valued
    cell, found by looking only at cells right of the widest one seen so far. Values are counted
    too, so that repeating one reference cannot pile up cells either.

    Anything unusual makes the scan give up, and the streaming reader is used: a cell written
    without an upper-case ``r="A1"`` reference as its first attribute, or elements with a
    namespace prefix (legal, but Excel and WPS write neither).

    The XML is cut just before its last ``<`` in each chunk and the rest carried into the next,
    so every tag is looked at whole, exactly once.
    """

    def __init__(self) -> None:
        self.unusual = False
        self.values = 0
        self.max_row = 0
        self.max_col = 0
        self._started = False
        self._seen = 0
        self._carry = b""
        self._columns = self._beyond(0)

    @staticmethod
    def _beyond(widest: int) -> re.Pattern[bytes]:
        """Valued cells in a column right of ``widest`` (1-based): any of two or more letters,
        or a single letter after the widest one."""
        letter = chr(ord("A") + min(widest, 25)).encode()
        return re.compile(rb'<c r="([A-Z]{2,}|[' + letter + rb'-Z])[0-9]+"[^>]*(?<!/)>')

    def feed(self, chunk: bytes) -> None:
        if self.unusual:
            return
        buffer = self._carry + chunk if self._carry else chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            self._carry = buffer
        else:
            self._carry = buffer[cut:]
            self._look(buffer[:cut])
        if len(self._carry) > _MAX_CARRY:
            self.unusual = True

    def finish(self) -> None:
        if not self.unusual and self._carry:
            self._look(self._carry)
        self._carry = b""

    def _look(self, body: bytes) -> None:
        if not self._started:
            self._seen += len(body)
            root = _ROOT.search(body)
            if root is None:
                self.unusual = self._seen > _ROOT_SEARCH
                return
            if root.group(1):
                self.unusual = True
                return
            self._started = True
        if b":c" in body and _PREFIXED_CELL.search(body):
            self.unusual = True
            return
        if _ODD_CELL.search(body):
            self.unusual = True
            return
        self.values += body.count(b"<v>") + body.count(b"<is>")
        far = _FAR_ROW.findall(body)
        if far:
            self.max_row = max(self.max_row, max(map(int, far)))
        widest = self.max_col
        for letters in self._columns.findall(body):
            self.max_col = max(self.max_col, _column_number(letters))
        if self.max_col != widest:
            self._columns = self._beyond(self.max_col)

    def dense_safe(self) -> bool:
        if self.unusual:
            return False
        height = max(self.max_row, _UNCHECKED_ROWS)
        return self.values <= DENSE_CELL_LIMIT and height * max(self.max_col, 1) <= DENSE_CELL_LIMIT


def _column_number(letters: bytes) -> int:
    """b"AB" -> 28 (1-based)."""
    number = 0
    for char in letters:
        number = number * 26 + char - 64
    return number


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
