"""Slides, spreadsheets, CSV, e-books, mail, reStructuredText, JSON and HTML tables: real files
written by the real libraries, read by `read_document` as `kb ingest` reads them."""

import json
import re
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.readers import read_document, supported_suffixes
from ingest.splitter import ChunkingParams, split_document

MODELS = [
    ["model", "licence", "context"],
    ["Llama 3", "Llama 3 Community", "8k"],
    ["Mistral 7B", "Apache-2.0", "32k"],
]


def _sections(document) -> list[str]:  # type: ignore[no-untyped-def]
    return [heading.text for heading in document.headings]


def test_every_new_suffix_is_supported() -> None:
    assert {".pptx", ".xlsx", ".csv", ".epub", ".eml", ".mbox", ".rst", ".json"} <= set(
        supported_suffixes()
    )


def test_pptx_slides_are_sections_with_tables_and_notes(tmp_path: Path) -> None:
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Why open models"
    first.placeholders[1].text = "Weights you can run on premises."
    first.notes_slide.notes_text_frame.text = "Mention the licence terms."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Licences"
    table = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate(MODELS):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(tmp_path / "deck.pptx")
    document = read_document(tmp_path / "deck.pptx")
    assert _sections(document) == ["Slide 1: Why open models", "Slide 2: Licences"]
    assert "Weights you can run on premises." in document.text
    assert "Notes: Mention the licence terms." in document.text
    assert "model: Mistral 7B; licence: Apache-2.0; context: 32k" in document.text


def test_xlsx_sheets_are_sections_and_rows_keep_their_header(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Models"
    for row in MODELS:
        sheet.append(row)
    prices = book.create_sheet("Prices")
    prices.append(["api", "USD per 1M tokens"])
    prices.append(["gpt-4o-mini", 0.15])
    book.save(tmp_path / "models.xlsx")
    document = read_document(tmp_path / "models.xlsx")
    assert _sections(document) == ["Models", "Prices"]
    assert "model: Llama 3; licence: Llama 3 Community; context: 8k" in document.text
    assert "api: gpt-4o-mini; USD per 1M tokens: 0.15" in document.text


def test_csv_rows_keep_their_header_and_a_long_sheet_never_splits_a_row(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    rows = [["run", "tokens per second", "device"]] + [
        [f"run {n}", str(10 + n), "GPU" if n % 2 else "CPU"] for n in range(400)
    ]
    path.write_text("\n".join(";".join(row) for row in rows))  # the delimiter is sniffed
    document = read_document(path)
    assert _sections(document) == ["runs"]
    assert "run: run 7; tokens per second: 17; device: GPU" in document.text
    chunks = split_document(document, ChunkingParams(60, 40, 10))
    assert len(chunks) > 10
    whole_row = re.compile(r"run: run \d+; tokens per second: \d+; device: (CPU|GPU)")
    for chunk in chunks:  # every row whole, with every column's name
        for line in filter(None, chunk.text.splitlines()):
            assert line == "# runs" or whole_row.fullmatch(line), line


def test_epub_chapters_are_sections(tmp_path: Path) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("kb-test")
    book.set_title("Open models, a field guide")
    book.set_language("en")
    chapters = []
    for number, (title, body) in enumerate(
        [("Licences", "Apache-2.0 allows commercial use."), ("Hosting", "Run it on premises.")],
        start=1,
    ):
        chapter = epub.EpubHtml(title=title, file_name=f"ch{number}.xhtml", lang="en")
        chapter.content = f"<html><body><p>{body}</p></body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.spine = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(tmp_path / "guide.epub"), book)
    document = read_document(tmp_path / "guide.epub")
    assert document.title == "Open models, a field guide"
    assert _sections(document) == ["Licences", "Hosting"]
    assert "Apache-2.0 allows commercial use." in document.text


def _mail(subject: str, body: str) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Ada <ada@example.org>"
    message["Date"] = "Tue, 3 Nov 2026 10:00:00 +0000"
    message["Subject"] = subject
    message.set_content(body)
    return bytes(message)


def test_eml_has_subject_from_and_date(tmp_path: Path) -> None:
    (tmp_path / "note.eml").write_bytes(_mail("GPU quote", "The A100 quote is 2 USD an hour."))
    document = read_document(tmp_path / "note.eml")
    assert document.title == "GPU quote" and _sections(document) == ["GPU quote"]
    assert (
        "From: Ada <ada@example.org>" in document.text and "Date: Tue, 03 Nov 2026" in document.text
    )
    assert "2 USD an hour" in document.text


def test_mbox_gives_a_section_per_message(tmp_path: Path) -> None:
    mbox = b"".join(
        b"From ada@example.org Tue Nov  3 10:00:00 2026\n" + _mail(subject, body) + b"\n"
        for subject, body in [("First", "One."), ("Second", "Two.")]
    )
    (tmp_path / "box.mbox").write_bytes(mbox)
    assert _sections(read_document(tmp_path / "box.mbox")) == ["First", "Second"]


def test_rst_titles_become_heading_levels(tmp_path: Path) -> None:
    (tmp_path / "guide.rst").write_text(
        "=====\nGuide\n=====\n\nIntro.\n\nLicences\n--------\n\nApache.\n\nCommercial use\n"
        "~~~~~~~~~~~~~~\n\nAllowed.\n\nHosting\n-------\n\nOn premises.\n"
    )
    document = read_document(tmp_path / "guide.rst")
    assert [(h.level, h.text) for h in document.headings] == [
        (1, "Guide"),
        (2, "Licences"),
        (3, "Commercial use"),
        (2, "Hosting"),
    ]
    assert "-----" not in document.text and "Allowed." in document.text


def test_json_is_key_paths_with_top_level_sections(tmp_path: Path) -> None:
    data = {"model": {"name": "Qwen", "sizes": [0.5, 1.5]}, "licence": "Apache-2.0"}
    (tmp_path / "card.json").write_text(json.dumps(data))
    document = read_document(tmp_path / "card.json")
    assert _sections(document) == ["model", "licence"]
    assert "model.sizes[1]: 1.5" in document.text and "licence: Apache-2.0" in document.text


def test_html_tables_keep_rows_with_their_header(tmp_path: Path) -> None:
    cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in MODELS[1:])
    head = "<tr>" + "".join(f"<th>{v}</th>" for v in MODELS[0]) + "</tr>"
    (tmp_path / "t.html").write_text(
        f"<html><body><h1>Models</h1><table><caption>Open models</caption>{head}{cells}"
        "</table><p>After the table.</p></body></html>"
    )
    text = read_document(tmp_path / "t.html").text
    assert "Open models\n\nmodel: Llama 3; licence: Llama 3 Community; context: 8k\n\n" in text
    assert "After the table." in text


@pytest.mark.parametrize("suffix", [".pptx", ".xlsx", ".epub"])
def test_a_damaged_file_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"PK\x03\x04 this is not a real archive")
    with pytest.raises(IngestError, match=rf"broken{suffix}: could not read {suffix} file"):
        read_document(path)


def test_bad_json_and_mail_without_headers_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(IngestError, match=r"bad\.json: could not read \.json"):
        read_document(tmp_path / "bad.json")
    (tmp_path / "empty.mbox").write_text("just text\n")
    with pytest.raises(IngestError, match="no messages found"):
        read_document(tmp_path / "empty.mbox")


def test_the_table_questions_are_answered_by_their_documents() -> None:
    """eval/tables.jsonl stays true to tests/data/tables: each key cell and answer term is in
    the row kb reads for it."""
    root = Path(__file__).resolve().parents[3]
    for line in (root / "eval" / "tables.jsonl").read_text().splitlines():
        item = json.loads(line)
        text = read_document(root / "tests" / "data" / "tables" / item["gold_files"][0]).text
        row = next(r for r in text.splitlines() if item["gold_snippets"][0] in r)
        assert all(term.lower() in row.lower() for term in item["answer_must"]), (item["id"], row)
