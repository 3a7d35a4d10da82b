"""The bot over Socket Mode, for real: `run_socket_mode` with Bolt's own `SocketModeHandler`
(slack_sdk's built-in WebSocket client) against a loopback Socket Mode server
(`tests/support/slack_socket_mode.py`). `apps.connections.open` on the Web API stand-in hands
out that server's `ws://` URL; the server sends `hello` and an `events_api` envelope, and the
bot must ack the envelope and post its answer to the Web API stand-in, in the thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.frontends.slack.app import build_slack_app, run_socket_mode
from assistant.settings import Settings
from assistant.telemetry.metrics import METRICS
from tests.support.slack_api import Recorder, event_body, slack_api
from tests.support.slack_socket_mode import (
    SocketModeServer,
    events_api_envelope,
    socket_mode_server,
)
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

APP_TOKEN = "xapp-1-A1-0000-test"
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
def connected(  # type: ignore[no-untyped-def]
    retriever,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[SocketModeServer, Recorder, threading.Event, threading.Thread]]:
    """The bot running over Socket Mode in a thread; setting the event stops it."""
    parts = make_page_parts(retriever, tmp_path / "uploads")
    for name in PROXIES:  # slack_sdk would tunnel the loopback WebSocket through a proxy
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-0000")
    monkeypatch.setenv("KB_SLACK__UPDATE_EVERY_S", "0.01")
    monkeypatch.setenv("KB_SLACK__BACKEND", "fake")
    with slack_api() as (api_url, recorder), socket_mode_server() as slack:
        recorder.socket_url = slack.url
        monkeypatch.setenv("KB_SLACK__API_BASE_URL", api_url)
        app = build_slack_app(parts.session, Settings())  # no signing secret
        stop = threading.Event()
        bot = threading.Thread(
            target=run_socket_mode, args=(app, APP_TOKEN), kwargs={"stop": stop}, daemon=True
        )
        bot.start()
        try:
            yield slack, recorder, stop, bot
        finally:
            stop.set()
            bot.join(30)


def test_a_mention_over_socket_mode_is_acked_and_answered_in_its_thread_then_it_stops(
    connected: tuple[SocketModeServer, Recorder, threading.Event, threading.Thread],
) -> None:
    slack, recorder, stop, bot = connected
    labels = {"backend": "fake", "outcome": "answered"}
    before = METRICS.registry.get_sample_value("kb_questions_total", labels) or 0
    mention = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@UKB> Is self-hosting cheaper at high volumes?",
        "ts": "1700000000.000100",
        "channel": "C1",
        "event_ts": "1700000000.000100",
    }
    envelope = events_api_envelope(json.loads(event_body(mention, "EvSocket1")))
    slack.deliver(envelope)

    slack.wait_for(lambda: bool(slack.acks))
    assert slack.acks == [{"envelope_id": envelope["envelope_id"]}]
    assert slack.requests[0].startswith("GET /link/?ticket=loopback ")
    assert recorder.tokens["apps.connections.open"] == APP_TOKEN  # the app token, not the bot's

    recorder.wait_for(lambda: any(u.get("blocks") for u in recorder.of("chat.update")), 20)
    first = recorder.of("chat.postMessage")[0]
    assert first["channel"] == "C1" and first["thread_ts"] == "1700000000.000100"
    assert "Searching" in first["text"]
    updates = recorder.of("chat.update")
    assert {(u["channel"], u["ts"]) for u in updates} == {("C1", updates[0]["ts"])}  # one reply
    final = next(u for u in updates if u.get("blocks"))
    answer: Any = final["blocks"][1]["text"]["text"]
    assert "[1]" in answer and "[1]" in final["text"]
    assert "fake · scripted" in final["blocks"][-1]["elements"][0]["text"]
    assert METRICS.registry.get_sample_value("kb_questions_total", labels) == before + 1

    stop.set()
    bot.join(30)
    assert not bot.is_alive(), "run_socket_mode did not return after stop"
    assert slack.closed_by_client.wait(10), "the client did not close its WebSocket"
    assert len(slack.requests) == 1  # connected once: no reconnect on the way out
