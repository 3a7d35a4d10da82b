"""The page's Documents tab and collection picker over fakes: the table, search, remove after
a confirmation, re-index, uploads into a collection, and answers scoped to collections."""

from pathlib import Path

import pytest

from assistant.frontends.web import documents as tab
from assistant.frontends.web import events
from assistant.frontends.web import page as web
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"


@pytest.fixture
def parts(retriever: HybridRetriever, tmp_path: Path) -> events.PageParts:
    return make_page_parts(retriever, tmp_path / "uploads")


def _cited(parts: events.PageParts, convo: events.Conversation, question: str) -> set[str]:
    """The sources of the passages the answer was given."""
    *_, (_, _, convo, _) = events.answer_turn(parts, question, [], convo)
    return {hit.chunk.source for hit in convo.answers[-1].passages}


def test_the_table_lists_and_searches_the_documents(parts: events.PageParts) -> None:
    view = tab.DocumentsView.of(parts, "")
    assert view.paths == ["docs/costs.md", "docs/privacy.md", "docs/scale.md"]
    first = dict(zip(tab.HEADERS, view.table[0], strict=True))
    assert first["title"] == "Costs" and first["collection"] == "default"
    assert first["chunks"] == 1 and first["size"].endswith("kB") and first["added"][:2] == "20"
    assert tab.DocumentsView.of(parts, "PRIVACY").paths == ["docs/privacy.md"]
    assert tab.DocumentsView.of(parts, "nothing like it").table == []


def test_remove_asks_first_then_the_answers_stop_citing_it(parts: events.PageParts) -> None:
    message, shown = tab.confirm_removal([])
    assert "Pick one" in message and shown["visible"] is False
    message, shown = tab.confirm_removal(["docs/costs.md"])
    assert "docs/costs.md" in message and shown["visible"] is True  # nothing removed yet
    assert "docs/costs.md" in tab.DocumentsView.of(parts, "").paths
    report = tab.change_documents(parts.session.library.remove, ["docs/costs.md"])
    assert "removed **docs/costs.md**" in report
    assert "docs/costs.md" not in tab.DocumentsView.of(parts, "").paths
    assert "docs/costs.md" not in _cited(parts, events.Conversation("fake"), QUESTION)
    assert "❌" in tab.change_documents(
        parts.session.library.remove, ["docs/costs.md"]
    )  # gone already


def test_reindex_reads_the_file_again(parts: events.PageParts, tmp_path: Path) -> None:
    (tmp_path / "docs" / "costs.md").write_text("# Costs\n\nZorblax hardware halves the bill.\n")
    report = tab.change_documents(parts.session.library.reindex, ["docs/costs.md"])
    assert "read again **docs/costs.md**" in report
    hits = parts.session.assistant.retriever.retrieve("Zorblax hardware", 1)
    assert "Zorblax" in hits[0].chunk.text  # searched at once, no restart


def test_an_upload_goes_into_the_named_collection_and_scopes_answers(
    parts: events.PageParts, tmp_path: Path
) -> None:
    note = tmp_path / "leave.md"
    note.write_text("# Leave\n\nStaff get thirty days of leave a year, hardware or not.\n")
    report, _ = events.add_documents(parts, [str(note)], None, "hr")
    assert "leave.md**: added" in report and parts.session.library.collections() == [
        "default",
        "hr",
    ]
    assert "❌" in events.add_documents(parts, [str(note)], None, "bad name!")[0]
    convo = events.choose_collections(["hr"], events.Conversation("fake"))
    assert _cited(parts, convo, "days of leave a year") == {"uploads/leave.md"}
    convo = events.choose_collections(["default"], convo)
    assert "uploads/leave.md" not in _cited(parts, convo, "days of leave a year")
    scoped = events.ask_api(parts, "days of leave a year", "fake", None, ["hr"])
    assert {p["source"] for p in scoped["passages"]} == {"uploads/leave.md"}  # type: ignore[union-attr]


def test_a_collection_removed_leaves_the_conversations_scope(
    parts: events.PageParts, tmp_path: Path
) -> None:
    note = tmp_path / "leave.md"
    note.write_text("# Leave\n\nThirty days of leave.\n")
    events.add_documents(parts, [str(note)], None, "hr")
    convo = events.choose_collections(["hr", "default"], events.Conversation("fake"))
    tab.change_documents(parts.session.library.remove, ["uploads/leave.md"])
    update = web._picker_update(parts, convo)
    assert update["choices"] == ["default"] and convo.collections == ["default"]


def test_the_page_builds_with_both_tabs(parts: events.PageParts) -> None:
    page = web.build_web_ui(parts)
    ids = {getattr(block, "elem_id", None) for block in page.blocks.values()}
    assert {"kb-chat-tab", "kb-documents-tab", "kb-doc-table", "kb-collections"} <= ids
