"""Readers by file suffix: each turns one file into a cleaned `Document`.

Readers raise `IngestError` with the reason; they never decide whether an ingest goes on.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import formats
from ingest.errors import IngestError
from ingest.furniture import strip_furniture
from ingest.html_text import html_to_text
from ingest.markdown import find_atx_headings, find_plain_headings, front_matter, title_from
from ingest.models import Document, Heading, Page
from ingest.ocr import OcrUnavailableError, engine, ocr_image
from ingest.repair import decode_bytes, repair_text

if TYPE_CHECKING:
    from pypdf import PageObject

log = logging.getLogger(__name__)


def _markdown_document(source: str, text: str, plain_headings: bool = False) -> Document:
    meta, body_start = front_matter(text)
    body = strip_furniture(text[body_start:])
    text = text[:body_start] + body.text
    headings = find_atx_headings(text, body_start)
    if not headings and plain_headings:
        headings = find_plain_headings(text, body_start)
    return Document(source, title_from(meta, headings), text, tuple(headings), dropped=body.dropped)


def _decoded_text(source: str, data: bytes) -> str:
    """Repaired text of a text file; a NUL byte, which no text encoding without a byte-order
    mark produces, means the file is binary, not text (an image or archive renamed .txt)."""
    text = decode_bytes(data)
    if "\x00" in text:
        raise IngestError(
            f"{source}: this looks like a binary file, not text (it holds NUL bytes); "
            "UTF-16 text needs a byte-order mark, or save it as UTF-8"
        )
    return repair_text(text)


def read_text(source: str, data: bytes) -> Document:
    """A plain-text file; headings by Markdown marks, else by plain heading lines."""
    return _markdown_document(source, _decoded_text(source, data), plain_headings=True)


# Comments are invisible wherever Markdown is shown: not content, and a hiding place for
# instructions aimed at a model (tests/data/hostile/fine_tuning.md).
_MARKDOWN_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def read_markdown(source: str, data: bytes) -> Document:
    """A Markdown file, its HTML comments left out."""
    text = _MARKDOWN_COMMENT.sub("", _decoded_text(source, data))
    return _markdown_document(source, text)


def read_html(source: str, data: bytes) -> Document:
    """An HTML page as text, titled by its `<title>` or first heading."""
    title, text = html_to_text(_decoded_text(source, data))
    body = strip_furniture(text)
    headings = find_atx_headings(body.text)
    title = title or title_from({}, headings)
    return Document(source, title, body.text, tuple(headings), dropped=body.dropped)


def read_pdf(source: str, data: bytes, ocr: bool = True) -> Document:
    """A PDF's text with where each page starts, titled by its metadata. A page without a text
    layer (a scan) is read by OCR when `ocr` is on and an engine is installed."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    # An empty user password only restricts printing or copying: any viewer opens it, so do we.
    if reader.is_encrypted and not reader.decrypt(""):
        raise IngestError(
            f"{source}: the PDF is encrypted with a password; save an unencrypted copy "
            "and ingest that"
        )
    texts = [repair_text(page.extract_text() or "").strip() for page in reader.pages]
    texts = _with_scans_read(source, reader.pages, texts, ocr)
    text, pages = "", []
    for number, page_text in enumerate(texts, start=1):
        pages.append(Page(len(text), number))
        text += page_text + "\n\n"
    info_title = reader.metadata.title if reader.metadata else None
    return Document(source, info_title or None, text, (), tuple(pages))


def _with_scans_read(
    source: str, pages: Sequence[PageObject], texts: list[str], ocr: bool
) -> list[str]:
    """`texts` with each page that has none read by OCR; without OCR, a PDF with no text at
    all is an error that says how to get it, and one with some keeps what it has."""
    blank = [number for number, text in enumerate(texts, start=1) if not text]
    if not blank:
        return texts
    why = _why_no_ocr(ocr)
    if why and len(blank) == len(texts):
        raise IngestError(f"{source}: the PDF has no extractable text (a scan?), and {why}")
    if why:
        log.warning("%s: pages %s have no text layer and were left out: %s", source, blank, why)
        return texts
    started = time.perf_counter()
    read = [
        text or _ocr_page(source, number, pages[number - 1])
        for number, text in enumerate(texts, start=1)
    ]
    log.info("%s: OCR read %d pages in %.1f s", source, len(blank), time.perf_counter() - started)
    if not any(read):
        raise IngestError(f"{source}: the PDF has no text, and OCR found none in its images")
    return read


def _why_no_ocr(ocr: bool) -> str | None:
    """Why scanned pages cannot be read here, or None when they can (the engine is loaded)."""
    if not ocr:
        return "OCR is off (KB_INGEST__OCR=false); turn it on to read scanned pages"
    try:
        engine()
    except OcrUnavailableError as exc:
        return str(exc)
    return None


def _ocr_page(source: str, number: int, page: PageObject) -> str:
    """The text of a page's images, in their order; an image that cannot be decoded or read
    is left out with a warning, not the whole file."""
    images, parts = page.images, []
    for index in range(len(images)):
        try:
            parts.append(repair_text(ocr_image(images[index].data)).strip())
        except Exception as exc:  # image decoders raise anything on odd or damaged data
            log.warning(
                "%s: page %d: image %d was not read by OCR: %s", source, number, index + 1, exc
            )
    return "\n\n".join(part for part in parts if part)


def read_docx(source: str, data: bytes) -> Document:
    """A Word file's paragraphs, its Heading styles written as Markdown headings."""
    import docx

    parts: list[str] = []
    headings: list[Heading] = []
    title = None
    offset = 0
    for para in docx.Document(io.BytesIO(data)).paragraphs:
        text, style = para.text.strip(), (para.style.name if para.style else "") or ""
        if not text:
            continue
        if style == "Title" and title is None:
            title = text
        elif style.startswith("Heading") and style[-1:].isdigit():
            headings.append(Heading(offset, int(style[-1]), text))
            text = "#" * int(style[-1]) + " " + text
        parts.append(text)
        offset += len(text) + 2
    return Document(
        source, title or title_from({}, headings), "\n\n".join(parts) + "\n", tuple(headings)
    )


READERS: dict[str, Callable[[str, bytes], Document]] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".pptx": formats.read_pptx,
    ".xlsx": formats.read_xlsx,
    ".csv": formats.read_csv,
    ".epub": formats.read_epub,
    ".eml": formats.read_eml,
    ".mbox": formats.read_mbox,
    ".rst": formats.read_rst,
    ".json": formats.read_json,
}


def supported_suffixes() -> tuple[str, ...]:
    """The file suffixes kb can read."""
    return tuple(READERS)


def _reader_for(suffix: str, ocr: bool) -> Callable[[str, bytes], Document] | None:
    """The reader of a suffix; a PDF's is told whether scanned pages are read by OCR."""
    reader = READERS.get(suffix)
    return partial(read_pdf, ocr=ocr) if reader is read_pdf else reader


def read_document(path: Path, source: str | None = None, ocr: bool = True) -> Document:
    """Read one file by its suffix; any failure becomes an `IngestError` naming the file.
    `ocr`: read PDF pages that have no text layer (scans) by OCR, when it is installed."""
    source = source or str(path)
    reader = _reader_for(path.suffix.lower(), ocr)
    if reader is None:
        raise IngestError(
            f"{source}: unsupported file type {path.suffix!r}; supported: {', '.join(READERS)}"
        )
    try:
        data = path.read_bytes()
        if not data:
            raise IngestError(f"{source}: the file is empty")
        document = reader(source, data)
    except IngestError:
        raise
    except OSError as exc:
        raise IngestError(f"{source}: cannot open: {exc.strerror or exc}") from exc
    except Exception as exc:  # third-party parsers raise anything on corrupt input
        raise IngestError(
            f"{source}: could not read {path.suffix} file: it is damaged, cut short or not "
            f"really a {path.suffix} file ({type(exc).__name__}: {exc})"
        ) from exc
    if not document.text.strip():
        raise IngestError(f"{source}: the file holds no text")
    return document
