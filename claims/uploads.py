"""What an uploaded claim document must be before it is stored: a real PDF, JPEG or PNG.

Checking the first bytes alone let through a PNG or JPEG header followed by HTML or SVG
script, a PDF that runs JavaScript or launches a program when opened, ``%PDF-`` followed by an
executable, and a five-byte "PDF". So the content is read as what it claims to be:

* Pictures are decoded with Pillow, turned upright (phones record the rotation in EXIF) and
  encoded again in their own format. Only the pixels survive: EXIF (with the GPS position of
  a phone photo), comments, colour profiles and anything hidden after the image data are
  gone, and the re-encoded bytes are what is stored. Pictures with more than
  ``MAX_IMAGE_PIXELS`` pixels are refused before they are decoded, so a small file that
  expands to gigabytes (a decompression bomb) costs nothing.
* PDFs are parsed with pypdf and every object a reader could reach is inspected. Anything
  that runs or fetches on its own (JavaScript, automatic actions, program launches, form
  submission, embedded files, rich media, XFA forms, external streams) is refused: a clerk can
  always print the document to a new PDF or photograph the pages, which keeps what the office
  needs to see and nothing that runs. A PDF that cannot be parsed, is password-protected, has
  no page or carries data after its last ``%%EOF`` is refused too. PDFs are stored as
  uploaded, not rewritten: electronic invoices carry digital signatures that a rewrite would
  break.

``inspect_document`` returns the kind and the bytes to store, or raises ``DocumentRefused``
with a message for the clerk.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from io import BytesIO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from claims.models import ClaimDocument

logger = logging.getLogger(__name__)

Kind = ClaimDocument.Kind

SIGNATURES = {
    b"%PDF-": Kind.PDF,
    b"\xff\xd8\xff": Kind.JPEG,
    b"\x89PNG\r\n\x1a\n": Kind.PNG,
}

# A 600 dpi scan of an A4 page is 35 million pixels and a 48-megapixel phone photo 48 million;
# decoded as RGB, 50 million pixels take 150 MB.
MAX_IMAGE_PIXELS = 50_000_000
# Pillow formats accepted for each kind; phones save JPEGs with a second, smaller picture in
# them (MPO), which Pillow names apart.
_IMAGE_FORMATS = {Kind.JPEG: ("JPEG", "MPO"), Kind.PNG: ("PNG",)}
_SAVE_AS = {Kind.JPEG: "JPEG", Kind.PNG: "PNG"}
_JPEG_MODES = ("L", "RGB", "CMYK")

# In a PDF, a key that makes the document act on its own, whatever else the object says.
_ACTIVE_KEYS = frozenset(
    {
        "/JS",
        "/JavaScript",  # also the JavaScript name tree in the catalog's /Names
        "/AA",  # additional actions: run on opening a page, focusing a field, printing...
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",  # the embedded file of a file specification
        "/RichMedia",
        "/RichMediaContent",
        "/XFA",
    }
)
# Action types (/S) that run, launch, submit or fetch something. /GoTo, /Named and /URI (a
# link the reader must click) are ordinary in scanned and generated documents.
_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
        "/GoTo3DView",
    }
)
_ACTIVE_SUBTYPES = frozenset(
    {"/RichMedia", "/FileAttachment", "/Movie", "/Sound", "/Screen", "/3D"}
)
_LINK_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Bounds on the inspection itself, far above any real document of 10 MB.
_MAX_PDF_OBJECTS = 500_000
_PDF_TAIL_WHITESPACE = b" \t\r\n\x00\x0c"


class DocumentRefused(Exception):
    """The file is not accepted; the message says why in words a clerk understands."""


@dataclass(frozen=True)
class CheckedDocument:
    kind: str
    data: bytes


def sniff_document(head: bytes) -> str | None:
    """The type a document claims to be from its first bytes, whatever its name says."""
    for signature, kind in SIGNATURES.items():
        if head.startswith(signature):
            return kind
    return None


def inspect_document(data: bytes) -> CheckedDocument:
    """The document as it will be stored, or ``DocumentRefused``."""
    kind = sniff_document(data[:16])
    if kind is None:
        raise DocumentRefused(
            _(
                "Only PDF, JPEG or PNG files are accepted; this file is none of "
                "them, whatever its name says."
            )
        )
    if kind == Kind.PDF:
        _check_pdf(data)
        return CheckedDocument(kind, data)
    return CheckedDocument(kind, _reencode_image(data, kind))


# --- pictures ---------------------------------------------------------------------------------


def _unreadable_image() -> DocumentRefused:
    return DocumentRefused(
        _(
            "This picture could not be read: it is damaged or is not really a JPEG or PNG "
            "picture. Take the photo again, or open it and save it again as JPEG or PNG, and "
            "upload that."
        )
    )


def _reencode_image(data: bytes, kind: str) -> bytes:
    too_large = DocumentRefused(
        _(
            "This picture is too large: it has more than %(limit)s million pixels. Make it "
            "smaller, or photograph the page at a lower resolution, and upload it again."
        )
        % {"limit": MAX_IMAGE_PIXELS // 1_000_000}
    )
    try:
        with Image.open(BytesIO(data), formats=_IMAGE_FORMATS[kind]) as probe:
            # Only the header has been read so far: refuse a huge picture before decoding it.
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise too_large
            probe.verify()
        with Image.open(BytesIO(data), formats=_IMAGE_FORMATS[kind]) as image:
            image.load()
            # Phones store the picture sideways and say so in EXIF; EXIF goes, so apply it.
            try:
                upright = ImageOps.exif_transpose(image)
            except Exception:  # noqa: BLE001 - damaged EXIF: the pixels are still good
                upright = image.copy()
            # Of what Pillow keeps beside the pixels, only transparency is part of the picture;
            # the PNG writer would otherwise copy the colour profile from here.
            kept = upright.info.get("transparency")
            upright.info = {} if kept is None else {"transparency": kept}
            out = BytesIO()
            if kind == Kind.JPEG:
                if upright.mode not in _JPEG_MODES:
                    upright = upright.convert("RGB")
                upright.save(out, format="JPEG", quality=90)
            else:
                upright.save(out, format="PNG")
    except DocumentRefused:
        raise
    except Image.DecompressionBombError:
        # Pillow's own, larger limit, checked as it reads the header.
        raise too_large from None
    except Exception as exc:  # noqa: BLE001 - a hostile file can make a decoder raise anything
        logger.info("claim document refused: picture not decodable (%s)", exc)
        raise _unreadable_image() from None
    # No EXIF, comment, text chunk or colour profile is passed to save(), so none is written.
    return out.getvalue()


# --- PDFs -------------------------------------------------------------------------------------


def _unreadable_pdf() -> DocumentRefused:
    return DocumentRefused(
        _(
            "This file starts like a PDF but could not be read as one: it is damaged or is not "
            "really a PDF. Open it on your computer and print it to a new PDF (for example "
            "with “Microsoft Print to PDF”), or photograph the pages, and upload that."
        )
    )


def _active_pdf() -> DocumentRefused:
    return DocumentRefused(
        _(
            "This PDF contains parts that run by themselves when it is opened (scripts, "
            "automatic actions, attached files or interactive forms), which are not accepted. "
            "Open it on your computer and print it to a new PDF (for example with “Microsoft "
            "Print to PDF”), or photograph the pages, and upload that."
        )
    )


def _check_pdf(data: bytes) -> None:
    # Readers ignore whatever follows the last %%EOF; it is where a second file (an executable,
    # an archive) is hidden in a "PDF". Incremental updates and signatures end with %%EOF too.
    end = data.rfind(b"%%EOF")
    if end < 0 or data[end + 5 :].strip(_PDF_TAIL_WHITESPACE):
        raise _unreadable_pdf()
    try:
        # Lenient parsing: strict mode refuses faults common in genuine scanner output (cross
        # reference offsets a few bytes off, a missing line break). What pypdf cannot read at
        # all is refused, and everything it reads is inspected below.
        reader = PdfReader(BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRefused(
                _(
                    "This PDF is protected by a password, so it cannot be checked. Print it to "
                    "a new PDF without a password, or photograph the pages, and upload that."
                )
            )
        if len(reader.pages) < 1:
            raise _unreadable_pdf()
        active = _pdf_is_active(reader)
    except DocumentRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on hostile input
        logger.info("claim document refused: PDF not parseable (%s)", exc)
        raise _unreadable_pdf() from None
    if active:
        raise _active_pdf()


def _pdf_is_active(reader: PdfReader) -> bool:
    """Whether any object a reader could reach (from the trailer, or listed in the cross
    reference table) would act by itself."""
    roots: list[object] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        roots += [IndirectObject(number, generation, reader) for number in numbers]
    roots += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    seen: set[tuple[int, int]] = set()
    stack = roots
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        visited += 1
        if visited > _MAX_PDF_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(obj, DictionaryObject):
            if _active_dictionary(obj):
                return True
            stack.extend(dict.values(obj))
        elif isinstance(obj, ArrayObject):
            stack.extend(list.__iter__(obj))
    return False


def _active_dictionary(obj: DictionaryObject) -> bool:
    if _ACTIVE_KEYS.intersection(dict.keys(obj)):
        return True
    action, subtype, kind = (_name(obj.get(key)) for key in ("/S", "/Subtype", "/Type"))
    if action in _ACTIVE_ACTIONS or subtype in _ACTIVE_SUBTYPES or kind == "/EmbeddedFile":
        return True
    if action == "/URI":
        # A web or mail link waits for a click; file:, javascript:, smb: and the like open
        # programs, local files or network shares (and leak the Windows sign-in to them).
        scheme = _SCHEME.match(str(obj.get("/URI", "")).strip())
        if scheme and scheme.group(1).lower() not in _LINK_SCHEMES:
            return True
    # A stream whose data lives in another file or at a URL (/F on a stream dictionary).
    return isinstance(obj, StreamObject) and "/F" in obj


def _name(value: object) -> str | None:
    return str(value) if isinstance(value, str) else None
