"""A Slack thread keeps its state across a bot restart: two bot instances, one after the other,
over the same conversations file, driven with real signed Events API requests on loopback. The
second answers a follow-up in the thread with the first one's backend and history.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.conversations.store import ConversationStore
from assistant.frontends.slack.app import build_slack_app, http_server
from assistant.settings import Settings
from tests.e2e.test_slack_http import finals, mention, post
from tests.support.slack_api import SECRET, ListenerPool, Recorder, event_body, signed_headers
from tests.support.slack_api import slack_api as slack_web_api
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

THREAD = "1700000000.000100"
FIRST = "Is self-hosting cheaper at high volumes?"


@contextmanager
def running_bot(
    parts: Any, database: Path | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Recorder]]:
    """A bot on loopback (its Web API calls recorded); `database`: where threads are saved."""
    listeners = ListenerPool()
    store = ConversationStore(database) if database else None
    with slack_web_api() as (api_url, recorder):
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-0000")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("KB_SLACK__API_BASE_URL", api_url)
        monkeypatch.setenv("KB_SLACK__BACKEND", "fake")
        app = build_slack_app(
            dataclasses.replace(parts.session, conversations=store), Settings(), listeners
        )
        server = http_server(app, "127.0.0.1", 0, SECRET)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", recorder
        finally:
            server.shutdown()
            listeners.shutdown(wait=True)
            if store:
                store.close()


def send(url: str, text: str, ts: str, event_id: str) -> None:
    event = {**mention(f"<@UKB> {text}", ts, THREAD if ts != THREAD else None), "team": "T1"}
    body = event_body(event, event_id)
    assert post(url, body, signed_headers(body)) == 200


def _restart_and_follow_up(
    retriever: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Path | None,
) -> Any:
    """Bot one: `use fake-2`, then a question. Bot two: a follow-up. Returns bot two's parts."""
    first = make_page_parts(retriever, tmp_path / "uploads")
    with running_bot(first, database, monkeypatch) as (url, recorder):
        send(url, "use fake-2", "1700000000.000050", "Ev0")
        recorder.wait_for(lambda: recorder.of("chat.postMessage"))
        send(url, FIRST, THREAD, "Ev1")
        recorder.wait_for(lambda: finals(recorder))
    second = make_page_parts(retriever, tmp_path / "uploads")  # a new process, in effect
    with running_bot(second, database, monkeypatch) as (url, recorder):
        send(url, "And what about privacy?", "1700000000.000300", "Ev2")
        recorder.wait_for(lambda: finals(recorder))
        assert recorder.of("chat.postMessage")[0]["thread_ts"] == THREAD
        final = finals(recorder)[0]
    return second, final


def test_a_restarted_bot_answers_a_follow_up_with_the_threads_state(
    retriever: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = tmp_path / "conversations.sqlite3"
    second, final = _restart_and_follow_up(retriever, tmp_path, monkeypatch, database)
    calls = second.session.pool.get(
        "fake-2"
    ).calls  # the thread's backend came back: fake-2 answered
    assert calls and FIRST in str(calls[0])  # its rewrite of the follow-up saw the first turn
    assert "scripted-2" in final["blocks"][-1]["elements"][0]["text"]
    saved = ConversationStore(database).get(f"slack:T1/C1/{THREAD}", f"slack:T1/C1/{THREAD}")
    assert [t.question for t in saved.turns] == [FIRST, "And what about privacy?"]
    assert saved.summary.backend == "fake-2"


def test_without_the_store_a_restart_forgets_the_thread(
    retriever: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    second, _ = _restart_and_follow_up(retriever, tmp_path, monkeypatch, None)
    assert second.session.pool.get("fake-2").calls == []  # the default backend answered
    assert FIRST not in str(second.session.pool.get("fake").calls)
