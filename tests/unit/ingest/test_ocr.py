"""Scanned PDFs without an OCR engine, and the parts of OCR that need none: reading order,
image conversion. The engine itself is tested in tests/integration/test_ocr.py (seconds)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from harness.scans import LINES, SHORT_PAGE, draw_page, mixed_pdf, save_scan
from ingest import ocr
from ingest.errors import IngestError
from ingest.ocr import grey_pixels, reading_order
from ingest.readers import read_document


def _box(left: float, top: float, right: float, bottom: float, text: str) -> list[object]:
    return [[[left, top], [right, top], [right, bottom], [left, bottom]], text, 0.99]


def test_reading_order_is_top_to_bottom_then_left_to_right() -> None:
    boxes = [
        _box(600, 52, 900, 88, "right of the first line"),  # a little lower than its neighbour
        _box(100, 150, 500, 185, "second line"),
        _box(100, 50, 500, 85, "first line,"),
        _box(100, 250, 500, 285, "third line"),
    ]
    assert reading_order(boxes) == [
        "first line, right of the first line",
        "second line",
        "third line",
    ]


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR as on a machine without the `ocr` extra: the engine's import fails."""

    def missing() -> object:
        raise ImportError("No module named 'rapidocr_onnxruntime'")

    monkeypatch.setattr(ocr, "_engine", None)
    monkeypatch.setattr(ocr, "_load_engine", missing)


@pytest.mark.usefixtures("no_engine")
def test_a_scan_without_ocr_installed_says_how_to_get_it(tmp_path: Path) -> None:
    path = save_scan(tmp_path / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    with pytest.raises(IngestError) as caught:
        read_document(path, "scan.pdf")
    message = str(caught.value)
    assert message.startswith("scan.pdf: the PDF has no extractable text")
    assert "OCR is not installed" in message and "pip install 'kb[ocr]'" in message


def test_a_scan_with_ocr_off_names_the_setting(tmp_path: Path) -> None:
    path = save_scan(tmp_path / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    with pytest.raises(IngestError, match=r"scan.pdf: .*KB_INGEST__OCR=false"):
        read_document(path, "scan.pdf", ocr=False)


@pytest.mark.usefixtures("no_engine")
def test_a_mixed_pdf_without_ocr_keeps_its_text_pages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = mixed_pdf(tmp_path / "mixed.pdf")
    with caplog.at_level(logging.WARNING, logger="ingest.readers"):
        doc = read_document(path, "mixed.pdf")
    assert doc.text.startswith("Typed page about opening hours.")
    assert [p.number for p in doc.pages] == [1, 2]
    assert "pages [2] have no text layer" in caplog.text and "kb[ocr]" in caplog.text


def test_grey_pixels_of_cmyk_and_transparent_images_are_ink_on_paper() -> None:
    """RapidOCR would read 4 channels as RGBA: a CMYK scan must reach it as grey levels."""
    cmyk = Image.new("CMYK", (20, 10), (0, 0, 0, 0))  # no ink: white paper
    cmyk.paste((0, 0, 0, 255), (0, 0, 10, 10))  # black ink on the left half
    clear = Image.new("RGBA", (20, 10), (0, 0, 0, 0))  # fully transparent: the paper shows
    clear.paste((0, 0, 0, 255), (0, 0, 10, 10))
    for image, kind in ((cmyk, "JPEG"), (clear, "PNG")):
        data = io.BytesIO()
        image.save(data, kind)
        grey = grey_pixels(data.getvalue())
        assert grey.shape == (10, 20)
        assert grey[:, :10].max() < 60 and grey[:, 10:].min() > 200, kind
