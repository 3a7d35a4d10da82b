"""Saved conversations on the page, over fakes and a real SQLite file: a turn is saved, the
page restarts (new parts, same file), the conversation opens and its follow-up resolves
against the saved history; owners never see each other's; rename, delete, export."""

from pathlib import Path

import gradio as gr
import pytest

from assistant.conversations.store import ConversationStore
from assistant.frontends.web import conversations as side
from assistant.frontends.web import events
from assistant.frontends.web import page as web
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"


def page_parts(retriever: HybridRetriever, tmp_path: Path) -> events.PageParts:
    """A freshly started page over the conversations file in `tmp_path`."""
    store = ConversationStore(tmp_path / ".kb" / "conversations.sqlite3")
    return make_page_parts(retriever, tmp_path / "uploads", conversations=store)  # type: ignore[no-any-return]


def test_follow_up_after_a_restart_resolves_against_the_saved_history(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    first = page_parts(retriever, tmp_path)
    convo = events.Conversation("fake", collections=[])
    *_, (_, _, convo, _) = events.answer_turn(first, QUESTION, [], convo, "browser:ann")
    assert convo.saved_id is not None
    first.session.conversations.close()  # type: ignore[union-attr]

    again = page_parts(retriever, tmp_path)  # the restarted page: new parts, the same file
    listed = side.listing(again, "browser:ann")
    assert listed["choices"] == [(QUESTION, convo.saved_id)]
    chat, opened, sources, backend, _, title = side.open_conversation(
        again, "browser:ann", convo.saved_id, events.Conversation("fake")
    )
    assert title == QUESTION and backend == "fake" and 'id="kb-src-0-1"' in sources
    assert chat[0]["content"] == QUESTION and "(#kb-src-0-1)" in chat[1]["content"]
    *_, (_, chat, opened, sources) = events.answer_turn(
        again, "And privacy?", chat, opened, "browser:ann"
    )
    condense = str(again.session.pool.get("fake").calls[-2])  # type: ignore[attr-defined]
    assert QUESTION in condense  # the follow-up was condensed with the saved first question
    assert 'id="kb-src-1-1"' in sources and len(chat) == 4
    saved = again.session.conversations.get("browser:ann", convo.saved_id)  # type: ignore[union-attr]
    assert [t.question for t in saved.turns] == [QUESTION, "And privacy?"]


def test_two_owners_never_see_each_others_conversations(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    parts = page_parts(retriever, tmp_path)
    ann, bob = events.Conversation("fake"), events.Conversation("fake")
    *_, (_, _, ann, _) = events.answer_turn(parts, QUESTION, [], ann, "user:ann")
    *_, (_, _, bob, _) = events.answer_turn(parts, "Privacy?", [], bob, "user:bob")
    assert side.listing(parts, "user:ann")["choices"] == [(QUESTION, ann.saved_id)]
    assert side.listing(parts, "user:bob")["choices"] == [("Privacy?", bob.saved_id)]
    for attempt in (
        lambda: side.open_conversation(parts, "user:bob", ann.saved_id, bob),
        lambda: side.rename_conversation(parts, "user:bob", ann.saved_id, "mine now"),
        lambda: side.delete_conversation(parts, "user:bob", ann.saved_id, bob),
        lambda: side.export_file(parts, "user:bob", ann.saved_id),
    ):
        with pytest.raises(gr.Error, match="no saved conversation"):
            attempt()
    assert side.listing(parts, "user:ann")["choices"] == [(QUESTION, ann.saved_id)]


def test_the_owner_is_the_login_user_else_the_browser() -> None:
    class Request:
        username: str | None = None

    logged_in = Request()
    logged_in.username = "ann"
    assert side.owner_of(logged_in, "b1") == "user:ann"  # type: ignore[arg-type]
    assert side.owner_of(Request(), "b1") == "browser:b1"  # type: ignore[arg-type]
    assert side.owner_of(Request(), "") is None  # type: ignore[arg-type]
    assert side.browser_id("b1") == "b1" and len(side.browser_id("")) == 32


def test_rename_delete_and_export(retriever: HybridRetriever, tmp_path: Path) -> None:
    parts = page_parts(retriever, tmp_path)
    convo = events.Conversation("fake")
    *_, (_, _, convo, _) = events.answer_turn(parts, QUESTION, [], convo, "user:ann")
    cid = convo.saved_id
    renamed = side.rename_conversation(parts, "user:ann", cid, "Costs")
    assert renamed["choices"] == [("Costs", cid)] and renamed["value"] == cid
    exported = Path(side.export_file(parts, "user:ann", cid))
    text = exported.read_text()
    assert exported.name == "Costs.md" and text.startswith("# Costs\n")
    assert f"**Question:** {QUESTION}" in text and "[^1]: `docs/" in text
    listed, convo = side.delete_conversation(parts, "user:ann", cid, convo)
    assert listed["choices"] == [] and convo.saved_id is None
    *_, (_, _, convo, _) = events.answer_turn(parts, "And privacy?", [], convo, "user:ann")
    assert convo.saved_id not in (None, cid)  # the tab's next turn is saved anew


def test_without_an_owner_or_a_store_nothing_is_saved(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    parts = page_parts(retriever, tmp_path)
    *_, (_, _, convo, _) = events.answer_turn(parts, QUESTION, [], events.Conversation("fake"))
    assert convo.saved_id is None
    plain = make_page_parts(retriever, tmp_path / "up2")
    *_, (_, _, convo, _) = events.answer_turn(plain, QUESTION, [], events.Conversation("fake"), "u")
    assert convo.saved_id is None and len(convo.answers) == 1


def test_the_page_builds_with_its_sidebar(retriever: HybridRetriever, tmp_path: Path) -> None:
    page = web.build_web_ui(page_parts(retriever, tmp_path))
    ids = {getattr(block, "elem_id", None) for block in page.blocks.values()}
    assert {"kb-sidebar", "kb-conversations", "kb-export", "kb-delete-yes"} <= ids
    plain = web.build_web_ui(make_page_parts(retriever, tmp_path / "up2"))
    assert "kb-sidebar" not in {getattr(b, "elem_id", None) for b in plain.blocks.values()}
