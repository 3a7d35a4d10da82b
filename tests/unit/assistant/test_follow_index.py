"""A running page searches what another process (`kb ingest`) switched the index to."""

from __future__ import annotations

from pathlib import Path

from assistant.session import Scope
from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from tests.support.fakes import HashingEmbedder
from tests.unit.assistant.conftest import make_page_parts


def _sources(parts: object, question: str) -> list[str]:
    assistant = parts.session.answering(Scope("fake", []))  # type: ignore[attr-defined]
    return [hit.chunk.source for hit in assistant.retriever.retrieve(question, 3)]


def _ingest_elsewhere(folder: Path) -> None:
    """What a `kb ingest` in another process does to the index folder."""
    ingest_paths([folder], IndexConfig(Path("index")), HashingEmbedder())


def test_a_generation_switched_by_another_process_is_searched_next_question(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    parts = make_page_parts(retriever, tmp_path / "uploads")
    assert "docs/zorblax.md" not in _sources(parts, "zorblax quillon")
    (tmp_path / "docs" / "zorblax.md").write_text("# Zorblax\n\nZorblax met the Quillon.\n")
    _ingest_elsewhere(Path("docs"))
    assert parts.session.library.follow_index() is True
    assert parts.session.library.follow_index() is False  # once per switch, not per question
    assert _sources(parts, "zorblax quillon")[0] == "docs/zorblax.md"
    assert parts.session.library.stats().documents == 4  # the page's counts follow too
    (tmp_path / "docs" / "zorblax.md").unlink()
    _ingest_elsewhere(Path("docs"))
    assert "docs/zorblax.md" not in _sources(parts, "zorblax quillon")  # `answering` followed


def test_no_switch_no_reload(retriever: HybridRetriever, tmp_path: Path) -> None:
    parts = make_page_parts(retriever, tmp_path / "uploads")
    state = parts.session.assistant.retriever.state
    assert parts.session.library.follow_index() is False
    assert parts.session.assistant.retriever.state is state
