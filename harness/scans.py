"""Scanned pages made on the spot, for the OCR tests and benchmark: text drawn into an image
with Pillow and saved as a PDF that has no text layer, as a scanner writes it.

Pages are A4 at 150 dpi (1240 x 1754 pixels); the font is the TrueType font Pillow bundles
(`ImageFont.load_default(size)`), so no system font is needed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

A4_150_DPI = (1240, 1754)
# Short of A4, for tests: RapidOCR enlarges an image under 736 px high before it looks for text
# (one line of text: 0.3 s on a page of this size here, 1.0 s on A4, 2.2 s on 1240 x 200).
SHORT_PAGE = (1240, 800)
MARGIN = 100
# 32 px at 150 dpi is about 15 pt; OCR read every word of the test lines from 28 px up.
FONT_PX = 32

LINES = (
    "Scanned invoices are kept for seven years in the archive.",
    "Refunds above fifty euros need a written approval.",
    "The archive room is in building nine, second floor.",
)


def font(size: int = FONT_PX) -> ImageFont.FreeTypeFont:
    """Pillow's bundled TrueType font at `size` pixels."""
    loaded = ImageFont.load_default(size=size)
    if not isinstance(loaded, ImageFont.FreeTypeFont):
        raise RuntimeError("Pillow was built without FreeType: no TrueType font to draw with")
    return loaded


def draw_page(
    lines: Sequence[str], size: int = FONT_PX, page: tuple[int, int] = A4_150_DPI
) -> Image.Image:
    """A white greyscale page with `lines` drawn black from the top margin, 1.8 lines apart."""
    image = Image.new("L", page, 255)
    pen, face = ImageDraw.Draw(image), font(size)
    for number, line in enumerate(lines):
        pen.text((MARGIN, MARGIN + round(number * size * 1.8)), line, fill=0, font=face)
    return image


def wrap(text: str, size: int = FONT_PX, width: int = A4_150_DPI[0] - 2 * MARGIN) -> list[str]:
    """`text` broken into lines that fit `width` pixels in the font at `size`."""
    face, lines, line = font(size), [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and face.getlength(candidate) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return [*lines, line] if line else lines


def save_scan(path: Path, pages: Sequence[Image.Image]) -> Path:
    """The page images as one PDF, one image per page, no text layer."""
    first, *rest = pages
    first.save(path, "PDF", resolution=150, save_all=True, append_images=rest)
    return path


def mixed_pdf(path: Path, typed: str = "Typed page about opening hours.") -> Path:
    """Two pages: page 1 has a text layer (fpdf2 writes it), page 2 is only an image of
    `LINES`, a scan. Needs fpdf2 (the `dev` extra)."""
    from fpdf import FPDF

    scan = io.BytesIO()
    draw_page(LINES, page=SHORT_PAGE).save(scan, "PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=typed)
    pdf.add_page()
    pdf.image(scan, x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_recall(drawn: str, read: str) -> float:
    """Share of the drawn words found in the text read (each read word counts once), case
    and punctuation ignored: two words run together count as both lost."""
    left = _words(read)
    found = 0
    for word in _words(drawn):
        if word in left:
            left.remove(word)
            found += 1
    return found / max(1, len(_words(drawn)))
