"""Scanned PDFs read by the real OCR engine (rapidocr-onnxruntime, the `ocr` extra), offline.

Pages are drawn with Pillow and saved as image-only PDFs (harness/scans.py). About 1 to 3 s a
short page on 2 cores; the engine loads once per process.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from harness.scans import LINES, SHORT_PAGE, draw_page, font, mixed_pdf, save_scan, word_recall
from ingest import ocr
from ingest.models import Page
from ingest.readers import read_document
from ingest.splitter import ChunkingParams, split_document
from tests.conftest import ROOT, require
from tests.integration.test_offline import _no_network_prefix

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _engine_installed() -> None:
    require(
        importlib.util.find_spec("rapidocr_onnxruntime") is not None,
        "the OCR engine is not installed: pip install 'kb[ocr]'",
    )


def test_a_scanned_pdf_is_read_by_ocr(tmp_path: Path) -> None:
    path = save_scan(tmp_path / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    doc = read_document(path)
    assert doc.pages == (Page(0, 1),)
    assert doc.text.splitlines()[:3] == list(LINES)  # JPEG-compressed, read word for word
    assert word_recall(" ".join(LINES), doc.text) == 1.0


def test_only_the_scanned_page_of_a_mixed_pdf_is_ocr_read_and_cited(tmp_path: Path) -> None:
    doc = read_document(mixed_pdf(tmp_path / "mixed.pdf"), "mixed.pdf")
    assert [p.number for p in doc.pages] == [1, 2]
    first, second = doc.text[: doc.pages[1].start], doc.text[doc.pages[1].start :]
    assert first == "Typed page about opening hours.\n\n"  # pypdf's text, untouched
    assert second.startswith(LINES[0]) and "building nine" in second
    chunks = split_document(doc, ChunkingParams(max_tokens=16, min_tokens=0, overlap_tokens=0))
    assert {c.page for c in chunks if "opening hours" in c.text} == {1}
    assert {c.page for c in chunks if "building nine" in c.text} == {2}


def test_lines_read_top_to_bottom_then_left_to_right() -> None:
    image = Image.new("L", (1240, 360), 255)
    pen, face = ImageDraw.Draw(image), font()
    pen.text((700, 60), "east wing", fill=0, font=face)  # drawn first, read second
    pen.text((100, 60), "west wing", fill=0, font=face)
    pen.text((100, 200), "basement", fill=0, font=face)
    data = io.BytesIO()
    image.save(data, "PNG")
    assert ocr.ocr_image(data.getvalue()) == "west wing east wing\nbasement"


def test_the_engine_loads_once_for_many_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    real = ocr._load_engine
    monkeypatch.setattr(ocr, "_engine", None)
    monkeypatch.setattr(ocr, "_load_engine", lambda: loads.append(real()) or loads[-1])
    pages = [draw_page([f"Page number {n} of the scan."], page=SHORT_PAGE) for n in (1, 2)]
    doc = read_document(save_scan(tmp_path / "two.pdf", pages))
    read_document(save_scan(tmp_path / "again.pdf", pages[:1]))
    assert len(loads) == 1
    for page, number in zip(doc.pages, (1, 2), strict=True):
        assert doc.text[page.start :].startswith(f"Page number {number} of the scan.")


def test_ocr_runs_with_the_network_off(tmp_path: Path) -> None:
    """No model download, no cache from the developer's home: the models are in the wheel."""
    prefix = _no_network_prefix()
    path = save_scan(tmp_path / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update({"HOME": str(tmp_path), "PYTHONPATH": str(ROOT)})
    code = (
        "from pathlib import Path; "
        + f"from ingest.readers import read_document; print(read_document(Path({str(path)!r})).text)"
    )
    run = subprocess.run(
        [*prefix, sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert LINES[2] in run.stdout
