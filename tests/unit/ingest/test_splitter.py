import itertools
import re
from pathlib import Path

import pytest

from ingest.models import Document, Page
from ingest.readers import read_document
from ingest.splitter import ChunkingParams, count_tokens, split_document
from tests.conftest import CORPUS

FILES = sorted(p for p in CORPUS.iterdir() if p.name != "SOURCES.md")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_chunks_are_exact_spans_within_size(path: Path) -> None:
    doc = read_document(path)
    params = ChunkingParams()
    chunks = split_document(doc, params)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= params.max_tokens
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_text_is_lost(path: Path) -> None:
    doc = read_document(path)
    covered = [False] * len(doc.text)
    for chunk in split_document(doc):
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    lost = "".join(ch for ch, ok in zip(doc.text, covered, strict=True) if not ok)
    assert not lost.strip()


def test_consecutive_chunks_in_a_section_overlap() -> None:
    text = "# Only\n\n" + " ".join(f"Sentence number {i} is here." for i in range(120))
    doc = Document("s.md", "Only", text, ())
    chunks = split_document(doc, ChunkingParams(max_tokens=60, min_tokens=30, overlap_tokens=15))
    assert len(chunks) > 3
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end  # overlap
        assert second.start > first.start


def test_heading_path_and_sections() -> None:
    doc = read_document(CORPUS / "004_8746510215c8d5ef.txt")
    chunks = split_document(doc, ChunkingParams(max_tokens=80, min_tokens=40, overlap_tokens=10))
    paths = {c.heading_path for c in chunks}
    assert ("Open Source vs. Closed Source AI", "Closed Source (Proprietary APIs)", "Pros") in paths
    assert chunks[0].location and chunks[0].location.startswith("Open Source vs. Closed Source AI")


def test_pdf_chunks_carry_pages() -> None:
    page_one = "Alpha words here. " * 80
    text = page_one + "\n\n" + "Beta words there. " * 80
    doc = Document("p.pdf", None, text, (), (Page(0, 1), Page(len(page_one) + 2, 2)))
    chunks = split_document(doc, ChunkingParams(max_tokens=100, min_tokens=50, overlap_tokens=0))
    assert chunks[0].page == 1 and chunks[-1].page == 2
    assert all(
        (c.page == 2) == c.text.startswith("Beta")
        for c in chunks
        if re.match(r"(Alpha|Beta)", c.text)
    )


def test_a_huge_sentence_is_cut_into_windows() -> None:
    doc = Document("w.txt", None, "word " * 1000, ())
    chunks = split_document(doc, ChunkingParams(max_tokens=100, min_tokens=50, overlap_tokens=0))
    assert len(chunks) >= 10 and all(count_tokens(c.text) <= 100 for c in chunks)
