"""OCR of scanned PDFs: seconds per page and words recovered, on pages drawn here.

Pages are text drawn with Pillow's bundled TrueType font and saved as image-only PDFs
(JPEG inside, as scanners write them; harness/scans.py), then read through `read_document`,
the path `kb ingest` takes. Word accuracy is words recovered / words drawn (case and
punctuation ignored; two words run together count as both lost). Writes its section of
docs/benchmarks.md.

    .venv/bin/python -m bench.ocr [--no-write]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from bench.report import write_section
from harness.scans import (
    A4_150_DPI,
    LINES,
    MARGIN,
    SHORT_PAGE,
    draw_page,
    save_scan,
    word_recall,
    wrap,
)
from ingest import ocr
from ingest.readers import read_document

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT / "corpus" / "001_5c11a3054be18c61.txt"


@dataclass
class Row:
    page: str
    pages: int
    words: int
    seconds_per_page: float
    recall: float
    recall_grey: float  # the same page read without the black-and-white step


def _dense_pages(size: int, count: int = 2) -> list[list[str]]:
    """A corpus article's lines, as many on each A4 page as fit at `size` px, 1.8 lines apart."""
    fit = int((A4_150_DPI[1] - 2 * MARGIN) / (size * 1.8))
    lines = wrap(" ".join(TEXT.read_text().split()), size)
    return [lines[n * fit : (n + 1) * fit] for n in range(count)]


def _without_black_and_white(path: Path) -> str:
    """The first page's image read as grey levels, as RapidOCR would read it on its own."""
    data = PdfReader(path).pages[0].images[0].data
    result, _ = ocr.engine()(ocr.grey_pixels(data))
    return "\n".join(ocr.reading_order(result or []))


def _measure(
    folder: Path, name: str, pages: list[list[str]], size: int, shape: tuple[int, int]
) -> Row:
    path = save_scan(folder / f"{name}.pdf", [draw_page(lines, size, shape) for lines in pages])
    started = time.perf_counter()
    doc = read_document(path)
    seconds = (time.perf_counter() - started) / len(pages)
    drawn = " ".join(" ".join(lines) for lines in pages)
    grey = word_recall(" ".join(pages[0]), _without_black_and_white(path))
    return Row(name, len(pages), len(drawn.split()), seconds, word_recall(drawn, doc.text), grey)


def measure() -> tuple[float, list[Row]]:
    started = time.perf_counter()
    ocr.engine()
    load = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            _measure(Path(folder), "the test image (3 lines, 32 px)", [list(LINES)], 32, SHORT_PAGE)
        ]
        for size, points in ((32, 15), (25, 12)):
            pages = _dense_pages(size)
            name = f"dense A4, {len(pages[0])} lines at {size} px ({points} pt at 150 dpi)"
            rows.append(_measure(Path(folder), name, pages, size, A4_150_DPI))
    return load, rows


def render(load: float, rows: list[Row], load_average: float) -> str:
    table = "\n".join(
        f"| {r.page} | {r.pages} | {r.words} | {r.seconds_per_page:.1f} | {r.recall:.3f} | "
        f"{r.recall_grey:.3f} |"
        for r in rows
    )
    return f"""## Issue 19: OCR of scanned PDFs (`python -m bench.ocr`, {date.today()}, {os.cpu_count()} CPU cores)

{ocr.describe_engine()}.
A PDF page with no text layer is read by OCR, offline; pages with text keep pypdf's text.
Pages here are drawn with Pillow's bundled TrueType font and saved as image-only PDFs (JPEG
inside, as scanners write them), read through `read_document`, the path `kb ingest` takes.
Engine load, once per process: {load:.1f} s. Load average when the run began: {load_average:.1f}
(another job on the 2 cores slows every figure: at a load of 2.6 the three rows took 1.6, 8.8
and 11.9 s a page).

| page | pages | words drawn | s / page | word accuracy | without black-and-white |
|---|---|---|---|---|---|
{table}

Word accuracy: words recovered / words drawn, case and punctuation ignored; two words run
together count as both lost. "Without black-and-white": the first page's image given to
RapidOCR as grey levels; JPEG's ringing around letters makes its recogniser run words
together ("arekeptforseven"), so kb turns each image black-and-white (Otsu) first. Its
text-angle classifier is off: it turned an upright line upside down and lost it. Time grows
with the lines on a page (recognition is most of it); an image under 736 px high is enlarged
first, so a thin strip costs more than its size suggests.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    load, rows = measure()
    text = render(load, rows, load_average)
    print(text)
    if not args.no_write:
        write_section("ocr", text)


if __name__ == "__main__":
    main()
