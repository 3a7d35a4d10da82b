"""The page's busy limit over fakes: a scripted model that blocks until released lets
questions pile up; one past the limit is answered "busy" at once, in the chat and in `/ask`."""

import dataclasses
import re
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import pytest

from assistant.backends.llms.base import Message
from assistant.errors import BackendError
from assistant.frontends.web import events
from assistant.frontends.web import page as web
from assistant.frontends.web.busy import BUSY_HEADROOM, BUSY_MESSAGE, BusyGate
from index.retriever import HybridRetriever
from tests.conftest import places_held
from tests.unit.assistant.conftest import make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"
LIMIT = 2
BAD_HISTORY = 'history: expected [{"role": "user" or "assistant", "content": text}]'


class BlockingScript:
    """Replies only once `release` is set; counts the questions waiting for it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.waiting = threading.Semaphore(0)
        self.fail = False

    def __call__(self, messages: Sequence[Message]) -> str:
        self.waiting.release()
        assert self.release.wait(timeout=10), "the test never released the model"
        if self.fail:
            raise BackendError("the model crashed")
        return "Self-hosting open models is cheaper at very high volumes [1]."

    def wait_for(self, count: int) -> None:
        for _ in range(count):
            assert self.waiting.acquire(timeout=10), "a question never reached the model"


@pytest.fixture
def script() -> BlockingScript:
    return BlockingScript()


@pytest.fixture
def parts(retriever: HybridRetriever, tmp_path: Path, script: BlockingScript) -> events.PageParts:
    page_parts = make_page_parts(retriever, tmp_path / "uploads", script)
    return dataclasses.replace(page_parts, gate=BusyGate(LIMIT))


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=LIMIT) as executor:
        yield executor


def _fill(
    parts: events.PageParts, script: BlockingScript, pool: ThreadPoolExecutor
) -> list[Future[dict[str, object]]]:
    """LIMIT questions held by the page, all waiting for the blocked model."""
    held = [pool.submit(events.ask_api, parts, QUESTION) for _ in range(LIMIT)]
    script.wait_for(LIMIT)
    assert places_held(parts.gate) == LIMIT
    return held


def test_ask_past_the_limit_answers_busy_at_once_in_the_usual_shape(
    parts: events.PageParts, script: BlockingScript, pool: ThreadPoolExecutor
) -> None:
    held = _fill(parts, script, pool)
    busy = events.ask_api(parts, QUESTION)  # returns although the model is still blocked
    assert busy["busy"] is True and busy["answer"] == BUSY_MESSAGE
    assert busy["refused"] is True and busy["citations"] == [] and busy["question"] == QUESTION
    script.release.set()
    answers = [f.result(timeout=10) for f in held]
    assert all(a["busy"] is False and a["citations"] for a in answers)
    assert set(busy) == set(answers[0])  # a client reads both the same way
    assert places_held(parts.gate) == 0
    assert events.ask_api(parts, QUESTION)["busy"] is False  # room again


def test_chat_past_the_limit_keeps_the_question_and_says_busy(
    parts: events.PageParts, script: BlockingScript, pool: ThreadPoolExecutor
) -> None:
    held = _fill(parts, script, pool)
    convo = events.Conversation("fake")
    steps = list(events.answer_turn(parts, QUESTION, [], convo))
    box, chat, convo, _ = steps[-1]
    assert len(steps) == 1 and box == QUESTION  # at once, and the question is back in the box
    assert chat[0] == {"role": "user", "content": QUESTION}
    assert BUSY_MESSAGE in chat[-1]["content"] and not convo.history and not convo.answers
    script.release.set()
    [f.result(timeout=10) for f in held]
    *_, (box, chat, convo, _) = events.answer_turn(parts, QUESTION, [], convo)
    assert box == "" and len(convo.answers) == 1 and BUSY_MESSAGE not in chat[-1]["content"]


def test_chat_turns_and_ask_share_the_limit(
    parts: events.PageParts, script: BlockingScript, pool: ThreadPoolExecutor
) -> None:
    turn = events.answer_turn(parts, QUESTION, [], events.Conversation("fake"))
    assert isinstance(turn, Generator)
    next(turn)  # the chat turn holds a place from its first step
    held = pool.submit(events.ask_api, parts, QUESTION)
    script.wait_for(1)
    assert places_held(parts.gate) == LIMIT and events.ask_api(parts, QUESTION)["busy"] is True
    turn.close()  # a closed tab gives its place back
    assert places_held(parts.gate) == 1
    script.release.set()
    assert held.result(timeout=10)["busy"] is False


def test_a_failed_answer_gives_its_place_back(
    parts: events.PageParts, script: BlockingScript
) -> None:
    script.fail = True
    script.release.set()
    *_, (box, chat, _, _) = events.answer_turn(parts, QUESTION, [], events.Conversation("fake"))
    assert box == QUESTION and "the model crashed" in chat[-1]["content"]
    with pytest.raises(BackendError):
        events.ask_api(parts, QUESTION)
    assert places_held(parts.gate) == 0


def test_ask_takes_the_conversation_so_far(parts: events.PageParts, script: BlockingScript) -> None:
    script.release.set()
    history: list[Message] = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Yes, at very high volumes."},
    ]
    reply = events.ask_api(parts, "And why?", None, history)
    assert reply["busy"] is False and reply["query"] != "And why?"  # condensed with the history
    # gr.Error is what Gradio shows the API caller as the reason, not a server error
    with pytest.raises(gr.Error, match=re.escape(BAD_HISTORY)):
        events.ask_api(parts, "And why?", None, [{"role": "system"}])  # type: ignore[typeddict-item]


def test_gradio_runs_more_answer_handlers_than_the_gate_admits(parts: events.PageParts) -> None:
    page = web.build_web_ui(parts)
    answering = [f for f in page.fns.values() if f.concurrency_id == web.ANSWERS]
    assert len(answering) == 3  # the chat's submit and click, and /ask
    assert {f.concurrency_limit for f in answering} == {LIMIT + BUSY_HEADROOM}
    assert any(f.api_name == "ask" for f in answering)
