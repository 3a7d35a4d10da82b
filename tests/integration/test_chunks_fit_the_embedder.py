"""Counted in the embedder's word pieces, 200-piece chunks all fit what all-MiniLM-L6-v2
reads (254 word pieces plus its two special tokens), counted with the model's own tokenizer: no
chunk's tail is cut off before it reaches the dense vector. The default count (words and marks,
300) lets 34 of 64 through; it stays the default because it answered better on tune."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.builder import embedding_text
from index.embedders import packaged_minilm_path
from ingest.readers import read_document
from ingest.splitter import ChunkingParams, split_document, word_piece_counter
from tests.conftest import CORPUS

pytestmark = pytest.mark.integration
MINILM_TEXT_PIECES = 254


def _longest(params: ChunkingParams, counter_file: Path) -> tuple[int, int]:
    count = word_piece_counter(counter_file)
    documents = [read_document(p) for p in sorted(CORPUS.iterdir()) if p.name != "SOURCES.md"]
    sizes = [  # what the embedder reads: title and section path, then the chunk
        count(embedding_text(chunk)) for doc in documents for chunk in split_document(doc, params)
    ]
    return max(sizes), sum(size > MINILM_TEXT_PIECES for size in sizes)


def test_every_chunk_counted_in_word_pieces_fits_the_embedder() -> None:
    tokenizer = Path(packaged_minilm_path()) / "tokenizer.json"
    assert tokenizer.is_file()
    longest, too_long = _longest(ChunkingParams(200, 120, 40, tokenizer), tokenizer)
    assert too_long == 0 and longest <= MINILM_TEXT_PIECES


def test_counting_words_instead_lets_long_chunks_through() -> None:
    tokenizer = Path(packaged_minilm_path()) / "tokenizer.json"
    _, too_long = _longest(ChunkingParams(300, 180, 60), tokenizer)
    assert too_long > 0
