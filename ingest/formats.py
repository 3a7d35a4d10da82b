"""Readers for slides, spreadsheets, e-books, mail, reStructuredText and JSON.

Each keeps the structure a citation needs as Markdown headings in the text: the slide
("Slide 3: Pricing"), the sheet, the chapter, the message, the section or the top-level key.
Binary formats go through their maintained libraries (python-pptx, openpyxl, ebooklib) and
mail through the standard library; MarkItDown was the other choice, but it flattens a
spreadsheet's rows to Markdown tables whose header a chunk loses, and has no chapter or
message sections to cite.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import PurePosixPath
from typing import Any

from ingest.errors import IngestError
from ingest.html_text import html_to_text
from ingest.markdown import find_atx_headings, title_from
from ingest.models import Document
from ingest.repair import decode_bytes, repair_text
from ingest.tables import ROWS, table_lines

MAX_ROWS = 100_000  # a workbook beyond this is refused with the reason, not read for minutes


def _document(source: str, title: str | None, sections: list[str]) -> Document:
    text = repair_text("\n\n".join(part.strip() for part in sections if part.strip()) + "\n")
    headings = find_atx_headings(text)
    return Document(source, title or title_from({}, headings), text, tuple(headings))


def _stem(source: str) -> str:
    return PurePosixPath(source).stem


def read_csv(source: str, data: bytes) -> Document:
    """A CSV file: one section named after the file, each row "column: value; ..."."""
    text = decode_bytes(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    _check_rows(source, len(rows))
    return _document(source, None, [f"# {_stem(source)}", ROWS.join(table_lines(rows))])


def _check_rows(source: str, count: int) -> None:
    if count > MAX_ROWS:
        raise IngestError(
            f"{source}: {count:,} rows, over the {MAX_ROWS:,} kb reads from one file; "
            "split it or export the part you need"
        )


def read_xlsx(source: str, data: bytes) -> Document:
    """An Excel workbook: a section per sheet, each row "column: value; ..." under its
    sheet's header row (the first row with a value)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sections, total = [], 0
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        total += len(rows)
        _check_rows(source, total)
        lines = table_lines(rows)
        if lines:
            sections += [f"# {sheet.title}", ROWS.join(lines)]
    title = book.properties.title if book.properties else None
    return _document(source, title, sections)


def read_pptx(source: str, data: bytes) -> Document:
    """A PowerPoint deck: a section per slide ("Slide N: its title"), its text boxes and
    tables (rows with their header), then its speaker notes."""
    import pptx

    deck = pptx.Presentation(io.BytesIO(data))
    sections = []
    for number, slide in enumerate(deck.slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join((title_shape.text if title_shape is not None else "").split())
        parts = [f"# Slide {number}" + (f": {title}" if title else "")]
        parts += list(_slide_texts(slide, title_shape))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            parts += [f"Notes: {notes}"] if notes else []
        sections.append("\n\n".join(parts))
    return _document(source, deck.core_properties.title or None, sections)


def _slide_texts(slide: Any, title_shape: Any) -> Iterator[str]:
    for shape in slide.shapes:
        if shape is title_shape:
            continue
        if shape.has_text_frame and shape.text_frame.text.strip():
            yield shape.text_frame.text.strip()
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            yield ROWS.join(table_lines(rows))


def read_epub(source: str, data: bytes) -> Document:
    """An EPUB book: its chapters in reading order, each a section titled by its first
    heading (or its table-of-contents entry)."""
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
    titles = {item.href: item.title for item in _toc(book.toc)}
    sections = []
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        _, text = html_to_text(item.get_content().decode("utf-8", errors="replace"))
        if not text.strip():
            continue
        if not text.lstrip().startswith("#"):
            text = f"# {titles.get(item.get_name()) or _stem(item.get_name())}\n\n{text}"
        sections.append(text)
    metadata = book.get_metadata("DC", "title")
    return _document(source, metadata[0][0] if metadata else None, sections)


def _toc(entries: Any) -> Iterator[Any]:
    for entry in entries:
        if isinstance(entry, tuple):  # (section, children)
            yield entry[0]
            yield from _toc(entry[1])
        else:
            yield entry


def _mail_text(message: EmailMessage) -> str:
    """A message as a section: its subject as the heading, From, Date and Subject, then the
    plain body (else the HTML one as text)."""
    subject = " ".join(str(message.get("subject") or "(no subject)").split())
    head = [f"From: {message.get('from', '')}", f"Date: {message.get('date', '')}"]
    body = message.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    if body is not None and body.get_content_type() == "text/html":
        content = html_to_text(content)[1]
    return f"# {subject}\n\n" + "\n".join([*head, f"Subject: {subject}"]) + f"\n\n{content}"


def _message(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def read_eml(source: str, data: bytes) -> Document:
    """One e-mail, titled by its subject."""
    message = _message(data)
    if not message.keys():
        raise IngestError(f"{source}: no e-mail headers found (From, Date, Subject, ...)")
    return _document(source, str(message.get("subject") or "") or None, [_mail_text(message)])


_MBOX_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)


def read_mbox(source: str, data: bytes) -> Document:
    """A mailbox: a section per message, in order."""
    messages = [_message(part) for part in _MBOX_SEPARATOR.split(data) if part.strip()]
    messages = [message for message in messages if message.keys()]
    if not messages:
        raise IngestError(f"{source}: no messages found (an mbox starts each with 'From ')")
    return _document(source, None, [_mail_text(message) for message in messages])


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")


def _rst_title(lines: list[str], index: int) -> tuple[str, tuple[str, bool], int] | None:
    """(title, style, next line) when a section title starts at `index`: a text line with a
    line of one repeated mark under it, and maybe the same over it; else None."""
    over = bool(_RST_ADORNMENT.match(lines[index]))
    at = index + 1 if over else index
    if at + 1 >= len(lines) or not lines[at].strip() or _RST_ADORNMENT.match(lines[at]):
        return None
    if not _RST_ADORNMENT.match(lines[at + 1]):
        return None
    return lines[at].strip(), (lines[at + 1][0], over), at + 2


def read_rst(source: str, data: bytes) -> Document:
    """reStructuredText: its section titles as headings, levels in the order the title
    styles first appear (as docutils assigns them)."""
    lines, out, styles = decode_bytes(data).splitlines(), [], []
    index = 0
    while index < len(lines):
        found = _rst_title(lines, index)
        if found is None:
            out.append(lines[index])
            index += 1
            continue
        title, style, index = found
        styles += [] if style in styles else [style]
        out += ["", "#" * min(styles.index(style) + 1, 6) + " " + title, ""]
    return _document(source, None, ["\n".join(out)])


def _flatten(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for number, inner in enumerate(value):
            yield from _flatten(inner, f"{path}[{number}]")
    else:
        yield f"{path}: {value}" if path else str(value)


def read_json(source: str, data: bytes) -> Document:
    """JSON as "key.path: value" lines; each top-level key of an object is a section."""
    value = json.loads(decode_bytes(data))
    if isinstance(value, dict):
        sections = [
            f"# {key}\n\n" + "\n".join(_flatten(inner, str(key))) for key, inner in value.items()
        ]
    else:
        sections = ["\n".join(_flatten(value, ""))]
    return _document(source, None, sections)
