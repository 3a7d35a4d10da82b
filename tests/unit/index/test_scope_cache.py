"""A scope's chunks are found once per index state: a later question in the same scope does not
pass over the chunks again, each scope keeps its own chunks, and a reloaded retriever (a new
generation) computes them afresh. A scope that leaves nothing out costs no set at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever, ScopeCache
from index.storage import load_index
from tests.support.fakes import HashingEmbedder
from tests.unit.assistant.conftest import indexed_retriever

FILES = {
    "team/.kb-collection": "team",
    "team/plan.md": "# Plan\n\nThe harbour plan moves servers to the harbour site.\n",
    "team/hr/.kb-local-only": "",
    "team/hr/pay.md": "# Pay\n\nThe harbour bonus is paid at the harbour office.\n",
    "other/notes.md": "# Notes\n\nHarbour notes for everyone.\n",
}


class CountingChunks(dict[int, Any]):
    """state.chunks that counts the passes over every chunk: `scans` by items (what builds a
    scope's set), `passes` by items or values."""

    scans = 0
    passes = 0

    def items(self) -> Any:
        self.scans += 1
        self.passes += 1
        return super().items()

    def values(self) -> Any:
        self.passes += 1
        return super().values()


def _counted(folder: Path) -> tuple[HybridRetriever, CountingChunks]:
    state = load_index(folder / "index")
    chunks = state.chunks = CountingChunks(state.chunks)
    return HybridRetriever(state, HashingEmbedder()), chunks


@pytest.fixture
def retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    return indexed_retriever(tmp_path, FILES)


def _sources(retriever: HybridRetriever) -> set[str]:
    return {hit.chunk.source for hit in retriever.retrieve("harbour", top_k=10)}


def test_a_scope_asked_again_does_not_pass_over_the_chunks(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    counted, chunks = _counted(tmp_path)
    first = counted.scoped(["team"], local_only=False)
    passes = chunks.passes
    assert passes > 0
    again = counted.scoped(["team"], local_only=False)
    nested = counted.scoped(None).scoped(["team"], local_only=False)  # a scoped copy's scoped
    assert chunks.passes == passes
    assert _sources(again) == _sources(nested) == _sources(first) == {"docs/team/plan.md"}


def test_each_scope_keeps_its_own_chunks(retriever: HybridRetriever) -> None:
    assert _sources(retriever.scoped(["team"])) == {"docs/team/plan.md", "docs/team/hr/pay.md"}
    assert _sources(retriever.scoped(["team"], local_only=False)) == {"docs/team/plan.md"}
    assert _sources(retriever.scoped(["default"])) == {"docs/other/notes.md"}
    assert _sources(retriever.scoped(None, local_only=False)) == {
        "docs/team/plan.md",
        "docs/other/notes.md",
    }
    assert _sources(retriever.scoped(["team"])) == {"docs/team/plan.md", "docs/team/hr/pay.md"}


def test_a_reloaded_retriever_finds_chunks_added_since(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    assert _sources(retriever.scoped(["team"], local_only=False)) == {"docs/team/plan.md"}
    (tmp_path / "docs" / "team" / "moves.md").write_text("# Moves\n\nHarbour moves in May.\n")
    ingest_paths([Path("docs")], IndexConfig(Path("index")), HashingEmbedder())
    reloaded = retriever.reloaded(load_index(Path("index")))
    assert _sources(reloaded.scoped(["team"], local_only=False)) == {
        "docs/team/plan.md",
        "docs/team/moves.md",
    }


def test_a_scope_that_leaves_nothing_out_builds_no_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    indexed_retriever(tmp_path, {k: v for k, v in FILES.items() if "hr/" not in k})
    counted, chunks = _counted(tmp_path)
    everything = counted.scoped(None, local_only=False)  # an MCP call: no local-only chunks
    assert everything._allowed is None
    assert chunks.scans == 0
    assert counted.scoped(["team", "default"])._allowed is None
    assert counted.scoped(["team", "default", "gone"], local_only=False)._allowed is None
    passes = chunks.passes
    counted.scoped(None, local_only=False)
    counted.scoped(["team", "default"])
    assert chunks.passes == passes
    assert _sources(everything) == {"docs/team/plan.md", "docs/other/notes.md"}


def test_local_only_chunks_keep_the_every_collection_scope_a_set(
    retriever: HybridRetriever,
) -> None:
    assert retriever.scoped(["team", "default"])._allowed is None
    assert retriever.scoped(None, local_only=False)._allowed is not None


def test_the_cache_keeps_a_bounded_number_of_scopes(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    counted, chunks = _counted(tmp_path)
    for n in range(ScopeCache.SIZE + 1):
        counted.scoped([f"c{n}", "team"], local_only=False)
    assert len(counted._scopes._sets) == ScopeCache.SIZE
    passes = chunks.passes
    counted.scoped([f"c{ScopeCache.SIZE}", "team"], local_only=False)  # the newest: kept
    assert chunks.passes == passes
    counted.scoped(["c0", "team"], local_only=False)  # the oldest: dropped, computed again
    assert chunks.passes == passes + 1
