"""Backend pool (one model per backend, unavailable ones refused) and the upload library."""

from pathlib import Path

import pytest

from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
from assistant.documents.library import DocumentLibrary, UnknownSourceError, safe_file_name
from assistant.errors import ConfigurationError
from index.config import IndexConfig
from index.retriever import HybridRetriever
from tests.support.fakes import ScriptedChatModel
from tests.unit.assistant.conftest import make_assistant


def _pool(built: list[str]) -> ChatModelPool:
    def factory() -> ScriptedChatModel:
        built.append("fake")
        return ScriptedChatModel()

    choices = [BackendChoice("fake", "Fake"), BackendChoice("hosted", "Hosted", False, "no key")]
    rules = RoutingRules(private="fake", hosted="hosted", fallback=())
    return ChatModelPool(choices, {"fake": factory}, "fake", rules)


def test_pool_builds_each_backend_once() -> None:
    built: list[str] = []
    pool = _pool(built)
    assert pool.get("fake") is pool.get("fake")
    assert built == ["fake"]


def test_pool_refuses_unavailable_and_unknown_backends_with_the_reason() -> None:
    pool = _pool([])
    with pytest.raises(ConfigurationError, match="no key"):
        pool.get("hosted")
    with pytest.raises(ConfigurationError, match="choose one of fake, hosted"):
        pool.get("nope")
    assert pool.choice("hosted").display == "Hosted (unavailable: no key)"


def test_safe_file_name_drops_folders_and_odd_characters() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\Users\\me\\notes.md") == "notes.md"
    assert safe_file_name("a<b>|c.txt") == "a_b_c.txt"
    assert safe_file_name("..") == "upload"


def _library(retriever: HybridRetriever, tmp_path: Path) -> tuple[DocumentLibrary, object]:
    assistant = make_assistant(retriever)
    library = DocumentLibrary(assistant, IndexConfig(Path("index")), tmp_path / "uploads")
    return library, assistant


def test_upload_is_searchable_at_once_and_keeps_the_rest(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    library, assistant = _library(retriever, tmp_path)
    before = library.stats()
    new = tmp_path / "incoming.md"
    new.write_text("# Zorblax\n\nThe Zorblax protocol was ratified by the Quillon council.\n")
    report = library.add_files([(new, "zorblax notes.md")])
    assert report.added == ["uploads/zorblax notes.md"]
    after = library.stats()
    assert after.documents == before.documents + 1 and after.chunks > before.chunks
    hits = assistant.retrieve("Zorblax protocol Quillon council")  # type: ignore[attr-defined]
    assert hits[0].chunk.source == "uploads/zorblax notes.md"
    assert "docs/costs.md" in assistant.retriever.state.files  # type: ignore[attr-defined]


def test_a_broken_upload_is_reported_and_the_index_is_unchanged(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    library, _ = _library(retriever, tmp_path)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf at all")
    report = library.add_files([(broken, "broken.pdf")])
    assert report.failed and report.failed[0][0] == "uploads/broken.pdf"
    assert library.stats().documents == 3


def test_document_text_only_for_indexed_sources(retriever: HybridRetriever, tmp_path: Path) -> None:
    library, _ = _library(retriever, tmp_path)
    title, text = library.document_text("docs/privacy.md")
    assert title == "Privacy" and "on premises" in text
    with pytest.raises(UnknownSourceError):
        library.document_text("/etc/passwd")
