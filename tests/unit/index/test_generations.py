"""Readers and writers of index generations (issue 16, item 3): a reader loading while
ingests switch generations never fails and never mixes two generations' files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import index.storage as storage
from index.builder import ingest_paths
from index.config import IndexConfig
from index.storage import IndexState, load_index
from ingest.splitter import ChunkingParams
from tests.support.fakes import HashingEmbedder

SMALL = ChunkingParams(max_tokens=12, min_tokens=0, overlap_tokens=0)  # a chunk per line


def _write_version(folder: Path, version: int) -> None:
    lines = [f"Version {version} line {i} says something." for i in range(version % 5 + 1)]
    (folder / "doc.txt").write_text("\n\n".join(lines) + "\n")


def _one_generation(state: IndexState) -> int:
    """The version every chunk of a loaded state holds; fails on a mix."""
    versions = {c.text.split()[1] for c in state.chunks.values()}
    assert len(versions) == 1, f"chunks from several generations: {versions}"
    version = int(versions.pop())
    assert len(state.chunks) == version % 5 + 1 == state.manifest.chunks
    assert len(state.store) == len(state.chunks)
    return version


def test_a_reader_through_fifty_ingests_never_fails_nor_mixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    embedder = HashingEmbedder(32)
    _write_version(docs, 0)
    ingest_paths([docs], IndexConfig(index_dir, SMALL), embedder)
    done, errors, seen = threading.Event(), [], set()

    def read_until_done() -> None:
        while not done.is_set():
            try:
                seen.add(_one_generation(load_index(index_dir)))
            except Exception as exc:  # any failure of a reader is the finding
                errors.append(repr(exc))

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        for version in range(1, 51):
            _write_version(docs, version)
            ingest_paths([docs], IndexConfig(index_dir, SMALL), embedder)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert len(seen) > 5  # the reader really ran through the switches
    assert _one_generation(load_index(index_dir)) == 50


def test_a_switch_keeps_the_generation_it_replaces_and_no_older(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    names = []
    for version in range(3):
        _write_version(docs, version)
        ingest_paths([docs], IndexConfig(index_dir, SMALL), HashingEmbedder(32))
        current = storage.current_generation(index_dir)
        assert current is not None
        names.append(current.name)
    left = sorted(p.name for p in index_dir.glob("gen-*"))
    assert left == sorted(names[1:])
    assert (index_dir / storage.PREVIOUS).read_text() == names[1]
