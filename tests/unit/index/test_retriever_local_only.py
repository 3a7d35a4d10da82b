"""A retriever scoped without local-only documents never returns their chunks, alone or
with a collection scope; the default scope still searches them (the page and `kb ask` do)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import indexed_retriever

FILES = {
    "team/.kb-collection": "team",
    "team/plan.md": "# Plan\n\nThe harbour plan moves servers to the harbour site.\n",
    "team/hr/.kb-local-only": "",
    "team/hr/pay.md": "# Pay\n\nThe harbour bonus is paid at the harbour office.\n",
    "other/notes.md": "# Notes\n\nHarbour notes for everyone.\n",
}


@pytest.fixture
def retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    return indexed_retriever(tmp_path, FILES)


def _sources(retriever: HybridRetriever) -> set[str]:
    return {hit.chunk.source for hit in retriever.retrieve("harbour bonus", top_k=10)}


def test_the_default_scope_searches_local_only_documents(retriever: HybridRetriever) -> None:
    assert "docs/team/hr/pay.md" in _sources(retriever)
    assert "docs/team/hr/pay.md" in _sources(retriever.scoped(["team"]))


def test_without_local_only_their_chunks_are_never_returned(retriever: HybridRetriever) -> None:
    everywhere = _sources(retriever.scoped(None, local_only=False))
    assert everywhere == {"docs/team/plan.md", "docs/other/notes.md"}
    assert _sources(retriever.scoped(["team"], local_only=False)) == {"docs/team/plan.md"}
