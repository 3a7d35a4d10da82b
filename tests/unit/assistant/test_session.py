"""The session every long-running front end shares: the assistant of one question follows the
conversation's backend (its refusals are labelled with it too), and saving or keeping an answer
for ratings never fails a turn."""

import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.conversations.store import ConversationStore
from assistant.frontends.web import events
from assistant.session import Scope
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

ANSWERED = "Is self-hosting cheaper at high volumes?"
REFUSED = "What is the weather in Reykjavik?"  # refused before any model is asked


@pytest.mark.parametrize("backend, model", [("fake", "scripted"), ("fake-2", "scripted-2")])
def test_a_refusal_is_labelled_with_the_conversations_own_backend(
    retriever: HybridRetriever, tmp_path: Path, backend: str, model: str
) -> None:
    parts = make_page_parts(retriever, tmp_path / "uploads")
    convo = events.Conversation(backend)  # as after switching the page's backend
    *_, (_, chat, convo, _) = events.answer_turn(parts, REFUSED, [], convo)
    [refusal] = convo.answers
    assert refusal.refused and parts.session.pool.get(backend).calls == []  # type: ignore[attr-defined]
    assert refusal.model == model  # not the default backend's
    assert f"· {model} ·" in chat[-1]["content"]  # what the page shows under it


def test_answers_come_from_the_scopes_backend(retriever: HybridRetriever, tmp_path: Path) -> None:
    session = make_page_parts(retriever, tmp_path / "uploads").session
    assert session.answering(Scope("fake-2")).ask(ANSWERED).model == "scripted-2"
    assert session.answering(Scope("fake")).ask(ANSWERED).model == "scripted"


def test_a_failing_store_is_logged_and_the_turn_goes_on(
    retriever: HybridRetriever, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    session = make_page_parts(retriever, tmp_path / "uploads", conversations=store).session
    answer = session.answering(Scope("fake")).ask(ANSWERED)
    saved = session.save("ann", None, Scope("fake"), ANSWERED, answer)
    assert saved is not None and store.exists("ann", saved)
    again = session.save("ann", saved, Scope("fake-2", ["docs"]), ANSWERED, answer)
    assert again == saved and store.find("ann", saved).summary.backend == "fake-2"  # type: ignore[union-attr]
    store.close()
    broken = replace(session, conversations=_Broken(tmp_path / "other.sqlite3"))
    with caplog.at_level(logging.WARNING):
        assert broken.save("ann", saved, Scope("fake"), ANSWERED, answer) == saved
    assert "could not save conversation" in caplog.text


class _Broken(ConversationStore):
    """A conversations file whose disk went away after it opened."""

    def exists(self, owner: str, conversation_id: str) -> bool:
        raise sqlite3.OperationalError("disk I/O error")
