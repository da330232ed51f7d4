"""A name with a rare character (CJK Extension B, as some people's names have) prints in a
decision notice with a real glyph from the fallback font, not as an empty box.

Noto Sans CJK, the documents' typeface, has no glyph for 𪚥 (U+2A6A5); BabelStone Han, from
Debian's fonts-babelstone-han that scripts/setup installs, does. The test reads the PDF back:
the text contains the character, and the font that draws it is BabelStone Han with an outline
for it (a missing glyph would be glyph 0, .notdef, or a box drawn with no font at all).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from claims.notices import decision_notice_pdf
from claims.tests.test_notices import decided, pdf_text, proposal
from tests.factories import catalog_version, enroll

RARE = "\U0002a6a5"  # 𪚥, four dragons: CJK Unified Ideographs Extension B
FALLBACK_FAMILY = "BabelStone Han"
FALLBACK_PACKAGE = "fonts-babelstone-han"


def fallback_font_installed() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(
        ["fc-list", f"{FALLBACK_FAMILY}:charset={ord(RARE):x}", "family"],
        capture_output=True,
        text=True,
        check=False,
    )
    return FALLBACK_FAMILY in found.stdout


pytestmark = pytest.mark.skipif(
    not fallback_font_installed(),
    reason=(
        f"the PDF fallback font {FALLBACK_FAMILY} (Debian package {FALLBACK_PACKAGE}, installed "
        "by scripts/setup) is not installed here, so Extension B characters cannot be drawn"
    ),
)


def utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex()


def drawn_by(pdf: bytes, character: str) -> list[tuple[str, int, int]]:
    """(font name, glyph id, contour count) of every embedded font that draws ``character``,
    read from each font's ToUnicode map and its embedded TrueType outlines."""
    wanted = f"<{utf16_hex(character)}>"
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            to_unicode = font.get("/ToUnicode")
            if to_unicode is None:
                continue
            cmap = to_unicode.get_object().get_data().decode("latin-1").lower()
            for line in cmap.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == wanted:
                    glyph = int(parts[0].strip("<>"), 16)
                    found.append((str(font["/BaseFont"]), glyph, _contours(font, glyph)))
    return found


def _contours(font, glyph: int) -> int:
    descendant = font["/DescendantFonts"][0].get_object()
    assert descendant.get("/CIDToGIDMap") == "/Identity", "CIDs are glyph ids in these files"
    program = descendant["/FontDescriptor"].get_object().get("/FontFile2")
    if program is None:  # not a TrueType outline font: count it as drawn if the id is real
        return 1 if glyph else 0
    outlines = TTFont(io.BytesIO(program.get_object().get_data()))
    name = outlines.getGlyphOrder()[glyph]
    return outlines["glyf"][name].numberOfContours


def test_a_name_with_an_extension_b_character_prints_with_a_real_glyph(world):
    member = world.member_a
    member.name = f"王{RARE}"
    member.save()
    enrollment = enroll(member, catalog_version("jilin-allowance-2020"))
    claim = decided(
        enrollment,
        approved_amount=Decimal("500.00"),
        proposal=proposal("500.00", ("住院津贴 10天 × 50元", "500.00")),
        payee_name=member.name,
    )

    pdf = decision_notice_pdf(claim)

    assert f"王{RARE}" in pdf_text(pdf)
    drawn = drawn_by(pdf, RARE)
    assert drawn, "no font in the file draws the character"
    assert all("BabelStone-Han" in font for font, _glyph, _contours in drawn), drawn
    assert all(glyph != 0 and contours > 0 for _font, glyph, contours in drawn), drawn
    # The common characters still come from the documents' typeface.
    assert [font for font, *_ in drawn_by(pdf, "王")] and all(
        "Noto-Sans-CJK-SC" in font for font, *_ in drawn_by(pdf, "王")
    )


def test_a_document_without_rare_characters_does_not_embed_the_fallback_font(world):
    enrollment = enroll(world.member_a, catalog_version("jilin-allowance-2020"))
    claim = decided(
        enrollment,
        approved_amount=Decimal("500.00"),
        proposal=proposal("500.00", ("住院津贴 10天 × 50元", "500.00")),
    )

    pdf = decision_notice_pdf(claim)

    fonts = {
        str(ref.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for ref in page["/Resources"]["/Font"].values()
    }
    assert fonts and not any("BabelStone" in font for font in fonts), fonts
