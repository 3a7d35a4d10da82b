"""Embedding windows: which spans of a long chunk get their own vector, and how an index keeps
them (the hashing fake embedder; the real one is in tests/integration/test_windows_retrieval.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from index.builder import ingest_paths
from index.config import IndexConfig
from index.storage import WINDOWS_FILE, load_index
from index.windows import (
    MAX_WINDOWS,
    WindowParams,
    chunk_of,
    vector_ids,
    window_spans,
)
from ingest.splitter import count_tokens
from tests.support.fakes import HashingEmbedder

SMALL = WindowParams(limit=40)  # words and marks, so the sizes here are easy to count


def _sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} says one thing about topic {i}." for i in range(n))


def test_a_chunk_that_fits_gets_no_window() -> None:
    assert window_spans("Title", _sentences(2), SMALL) == []


def test_windows_are_whole_sentences_that_fit_and_reach_the_tail() -> None:
    text = _sentences(12)  # 9 words and marks each: 108 in all
    spans = window_spans("", text, SMALL)
    assert spans, "a chunk three times the limit must get windows"
    assert spans[-1][1] == len(text)  # the last sentence is covered
    for start, end in spans:
        assert text[start:end].startswith("Sentence") and text[start:end].endswith(".")
        assert count_tokens(text[start:end]) <= SMALL.limit
    starts = [start for start, _ in spans]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_windows_overlap_the_one_before() -> None:
    text = _sentences(12)  # 9 words and marks per sentence: 4 fit in 40
    spans = window_spans("", text, SMALL)
    head_end = text.index("topic 3.") + len("topic 3.")  # what the chunk's own vector reads
    assert spans[0][0] < head_end
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start < end


def test_the_context_line_counts_against_the_limit() -> None:
    text = _sentences(4)  # 36: fits alone, not with a 10-word title
    assert window_spans("", text, SMALL) == []
    assert window_spans("A title of ten words that the embedder reads too", text, SMALL)


def test_a_very_long_chunk_gets_at_most_the_cap_and_keeps_its_tail() -> None:
    text = _sentences(200)
    spans = window_spans("", text, SMALL)
    assert len(spans) == MAX_WINDOWS
    assert spans[-1][1] == len(text)


def test_window_ids_name_their_chunk_and_stay_in_int64() -> None:
    chunk = (1 << 60) - 1  # the largest 60-bit chunk id
    ids = vector_ids(chunk, MAX_WINDOWS)
    assert ids[0] == chunk and len(set(ids)) == MAX_WINDOWS + 1
    assert all(chunk_of(i) == chunk for i in ids)
    assert max(ids) < 1 << 63


@pytest.fixture
def long_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "long.txt").write_text(_sentences(12) + "\n")
    return folder


def _ingest(folder: Path) -> None:
    ingest_paths([folder], IndexConfig(Path("index"), windows=SMALL), HashingEmbedder(64))


def test_an_index_keeps_window_vectors_and_drops_them_with_their_file(long_doc: Path) -> None:
    _ingest(long_doc)
    state = load_index(Path("index"))
    windows = sum(state.windows.values())
    assert windows > 0 and len(state.store) == len(state.chunks) + windows

    (long_doc / "long.txt").write_text("A short file now.\n")
    _ingest(long_doc)
    state = load_index(Path("index"))
    assert state.windows == {} and len(state.store) == len(state.chunks) == 1


def test_an_index_from_before_windows_gets_them_at_the_next_ingest(long_doc: Path) -> None:
    ingest_paths([long_doc], IndexConfig(Path("index")), HashingEmbedder(64))  # no windows
    state = load_index(Path("index"))
    assert state.windows == {} and len(state.store) == len(state.chunks)
    generation = Path("index") / (Path("index") / "CURRENT").read_text().strip()
    (generation / WINDOWS_FILE).unlink()  # as written before windows existed
    assert not load_index(Path("index")).windowed

    _ingest(long_doc)  # nothing changed in the files: only the windows are added
    state = load_index(Path("index"))
    assert state.windowed and sum(state.windows.values()) > 0
    assert len(state.store) == len(state.chunks) + sum(state.windows.values())
