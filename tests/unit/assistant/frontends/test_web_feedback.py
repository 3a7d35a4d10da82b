"""The page's 👍 and 👎 over fakes and a real feedback file: a click on a finished answer keeps
the question, answer, passages, backend and history; a second click replaces the first; a thumb
clicked off takes the rating back; an error message cannot be rated; a reopened saved
conversation's answers can be rated; the thumbs are wired only when the page keeps feedback."""

from pathlib import Path
from typing import Any

import pytest

from assistant.conversations.store import ConversationStore
from assistant.feedback.store import FeedbackStore
from assistant.frontends.web import conversations as side
from assistant.frontends.web import events
from assistant.frontends.web import page as web
from assistant.frontends.web.feedback import rate_message, thumbs_shown
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"


@pytest.fixture
def parts(retriever: HybridRetriever, tmp_path: Path) -> events.PageParts:
    return make_page_parts(  # type: ignore[no-any-return]
        retriever,
        tmp_path / "uploads",
        conversations=ConversationStore(tmp_path / ".kb" / "conversations.sqlite3"),
        feedback=FeedbackStore(tmp_path / ".kb" / "feedback.sqlite3"),
    )


def _ask(
    parts: events.PageParts, question: str, chat: list[Any], convo: events.Conversation
) -> tuple[list[Any], events.Conversation]:
    *_, (_, chat, convo, _) = events.answer_turn(parts, question, chat, convo, "browser:ann")
    return chat, convo


def test_a_thumb_down_keeps_question_answer_passages_and_backend(
    parts: events.PageParts,
) -> None:
    chat, convo = _ask(parts, QUESTION, [], events.Conversation("fake"))
    chat, convo = _ask(parts, "And privacy?", chat, convo)
    store = parts.session.feedback
    assert store is not None
    rate_message(store, convo, 3, False, "browser:ann")  # the second answer
    [rated] = store.rated("down")
    answer = convo.answers[1]
    assert (rated.question, rated.answer, rated.source) == ("And privacy?", answer.text, "web")
    assert rated.backend == answer.backend and rated.model == answer.model
    assert [p.source for p in rated.passages] == [h.chunk.source for h in answer.passages]
    assert rated.passages and rated.passages[0].text == answer.passages[0].chunk.text
    assert [m["content"] for m in rated.history] == [QUESTION, convo.answers[0].text]


def test_a_second_click_replaces_and_a_thumb_off_takes_it_back(parts: events.PageParts) -> None:
    _, convo = _ask(parts, QUESTION, [], events.Conversation("fake"))
    store = parts.session.feedback
    assert store is not None
    rate_message(store, convo, 1, False, "user:ann")
    rate_message(store, convo, 1, True, "user:ann")
    rate_message(store, convo, 1, False, "user:bob")
    [rated] = store.rated()
    assert (rated.ups, rated.downs) == (1, 1)  # one answer recorded once, two people
    assert thumbs_shown([{"role": "user"}, {"role": "assistant"}], convo)["feedback_value"] == [
        "Dislike"
    ]
    rate_message(store, convo, 1, "", "user:ann")
    assert [(r.ups, r.downs) for r in store.rated()] == [(0, 1)]
    assert thumbs_shown([{"role": "user"}, {"role": "assistant"}], convo)["feedback_value"] == [
        None
    ]


def test_only_finished_answers_can_be_rated(parts: events.PageParts) -> None:
    store = parts.session.feedback
    assert store is not None
    _, convo = _ask(parts, QUESTION, [], events.Conversation("fake"))
    with pytest.warns(UserWarning, match="Only kb's finished answers"):
        rate_message(store, convo, 0, False, "user:ann")  # the question itself
    assert store.rated() == []


def test_a_reopened_conversations_answers_can_be_rated(parts: events.PageParts) -> None:
    _, convo = _ask(parts, QUESTION, [], events.Conversation("fake"))
    _, convo = _ask(parts, "And privacy?", [], convo)
    _, opened, *_ = side.open_conversation(
        parts, "browser:ann", convo.saved_id, events.Conversation("fake")
    )
    store = parts.session.feedback
    assert store is not None
    rate_message(store, opened, 3, False, None)  # before the browser sent its id
    [rated] = store.rated("down")
    assert rated.question == "And privacy?" and len(rated.history) == 2


def _like_listeners(page: object) -> int:
    config = page.get_config_file()  # type: ignore[attr-defined]
    return sum(1 for d in config["dependencies"] for t in d["targets"] if t[1] == "like")


def test_the_thumbs_are_wired_only_when_the_page_keeps_feedback(
    parts: events.PageParts, retriever: HybridRetriever, tmp_path: Path
) -> None:
    assert _like_listeners(web.build_web_ui(parts)) == 1
    plain = make_page_parts(retriever, tmp_path / "up2")
    assert _like_listeners(web.build_web_ui(plain)) == 0
