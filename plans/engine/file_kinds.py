"""What a file that is not an .xlsx really is, and how the clerk turns it into one.

``plans.engine.roster_reader`` refuses such files; the refusal names what the file is (an
Excel 97-2003 .xls, an .xlsb, an OpenDocument .ods, an Excel 2003 XML spreadsheet, a web page,
CSV or other text; a password-protected .xlsx is an OLE file too) and says how to save it as
.xlsx. Bytes only: no spreadsheet library sees these files.

No Django here.
"""

from __future__ import annotations

import struct

NOT_XLSX = (
    "文件不是Excel工作簿（.xlsx）。请上传用Excel或WPS保存的参保名单，"
    "文件类型选“Excel工作簿(*.xlsx)”。"
)
# How to turn any of the files below into what the reader takes; every refusal ends with it.
SAVE_AS = "请用Excel或WPS打开后“另存为”，文件类型选“Excel工作簿(*.xlsx)”，再重新上传。"
XLS = "这是Excel 97-2003工作簿（.xls），系统只接受.xlsx格式。" + SAVE_AS
OLE_OTHER = "这是旧版Office文件（例如.doc或.xls），不是Excel工作簿（.xlsx）。" + SAVE_AS
XLSB = "这是Excel二进制工作簿（.xlsb），系统只接受.xlsx格式。" + SAVE_AS
ODS = (
    "这是OpenDocument电子表格（.ods，WPS或LibreOffice的格式），系统只接受.xlsx格式。"
    "请用WPS或LibreOffice打开后“另存为”，文件类型选“Excel 2007-365 (.xlsx)”，再重新上传。"
)
ODF_OTHER = (
    "这是OpenDocument文档（例如.odt），不是Excel工作簿。请上传用Excel填写的参保名单（.xlsx）。"
)
XML_2003 = "这是Excel 2003 XML电子表格（.xml），不是.xlsx工作簿。" + SAVE_AS
HTML = (
    "这是网页文件（HTML），只是扩展名像Excel文件，很多系统“导出Excel”时会生成这种文件。" + SAVE_AS
)
TEXT = "这是文本或CSV文件，不是Excel工作簿（.xlsx）。" + SAVE_AS


def macro_message() -> str:
    return (
        "文件是启用宏的工作簿（例如.xlsm），出于安全原因不予接收。请在Excel中“另存为”，"
        "文件类型选“Excel工作簿(*.xlsx)”（不含宏），再重新上传。"
    )


def not_spreadsheet_message(content_types: set[str]) -> str:
    if any("wordprocessingml" in ct for ct in content_types):
        return "文件是Word文档，不是Excel工作簿。请上传用Excel填写的参保名单（.xlsx）。"
    if any("presentationml" in ct for ct in content_types):
        return "文件是PowerPoint文档，不是Excel工作簿。请上传用Excel填写的参保名单（.xlsx）。"
    return NOT_XLSX


def looks_like_text(data: bytes) -> bool:
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


def ole_is_workbook(data: bytes) -> bool:
    """Whether a compound file is an Excel 97-2003 workbook (it has a "Workbook" or, from
    Excel 5, a "Book" stream)."""
    try:
        names = ole_stream_names(data)
    except (ValueError, IndexError, struct.error):
        return "Workbook".encode("utf-16-le") in data
    return any(name.lower() in ("workbook", "book") for name in names)


def text_message(data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head or b"excel.sheet" in head:
        return XML_2003
    if head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in head[:512]:
        return HTML
    return TEXT


# --- OLE compound files ----------------------------------------------------------------------

_ENCRYPTED_NAMES = ("encryptedpackage",)
_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE


def ole_is_encrypted(data: bytes) -> bool:
    """True when the compound file has an "EncryptedPackage" stream (a password-protected
    .xlsx). A header that cannot be followed falls back to looking for the stream's name."""
    try:
        names = ole_stream_names(data)
    except (ValueError, IndexError, struct.error):
        return "EncryptedPackage".encode("utf-16-le") in data
    return any(name.lower() in _ENCRYPTED_NAMES for name in names)


def ole_stream_names(data: bytes) -> list[str]:
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


def opendocument_message(kind: bytes) -> str:
    """An OpenDocument file names itself in its "mimetype" entry."""
    if kind.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return ODS
    if kind.startswith(b"application/vnd.oasis.opendocument."):
        return ODF_OTHER
    return NOT_XLSX
