"""The real Bolt app over HTTP on loopback: Slack-signed event payloads in, Web API calls out
to a loopback recorder (`tests/support/slack_api.py`). The assistant behind it uses fakes here
(scripted model, hashing embedder); `test_slack_real_models.py` runs the real ones.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import ConfigurationError
from assistant.frontends.slack.app import (
    RateLimiter,
    build_slack_app,
    http_server,
    serve,
)
from assistant.frontends.slack.http import HttpLimits
from assistant.settings import Settings
from tests.support.slack_api import (
    SECRET,
    ListenerPool,
    Recorder,
    event_body,
    signed_headers,
    slack_api,
)
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

QUESTION = "<@UKB> Is self-hosting cheaper at high volumes?"


@pytest.fixture
def listeners() -> Iterator[ListenerPool]:
    """The app's listener threads: `wait_idle()` before asserting that nothing was posted."""
    pool = ListenerPool()
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def bot(  # type: ignore[no-untyped-def]
    retriever,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listeners: ListenerPool,
) -> Iterator[tuple[str, Recorder, Any]]:
    parts = make_page_parts(retriever, tmp_path / "uploads")
    with slack_api() as (api_url, recorder):
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-0000")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("KB_SLACK__API_BASE_URL", api_url)
        monkeypatch.setenv("KB_SLACK__UPDATE_EVERY_S", "0.01")
        monkeypatch.setenv("KB_SLACK__BACKEND", "fake")
        app = build_slack_app(parts.session, Settings(), listeners)
        limits = HttpLimits(max_body_bytes=64 * 1024, read_timeout_s=2.0)
        server = http_server(app, "127.0.0.1", 0, SECRET, limits=limits)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        yield url, recorder, parts
        server.shutdown()


def post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, body.encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def mention(text: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": text,
        "ts": ts,
        "channel": "C1",
        "event_ts": ts,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def finals(recorder: Recorder) -> list[dict[str, Any]]:
    return [u for u in recorder.of("chat.update") if u.get("blocks")]


def test_mention_answered_in_its_thread_with_sources_then_a_follow_up(bot: Any) -> None:
    url, recorder, parts = bot
    body = event_body(mention(QUESTION, "1700000000.000100"), "Ev1")
    assert post(url, body, signed_headers(body)) == 200
    recorder.wait_for(lambda: finals(recorder))
    first = recorder.of("chat.postMessage")[0]
    assert first["channel"] == "C1" and first["thread_ts"] == "1700000000.000100"
    assert "Searching" in first["text"]
    updates = recorder.of("chat.update")
    assert len(updates) >= 2 and len({u["ts"] for u in updates}) == 1  # one reply, edited in place
    final = finals(recorder)[0]
    evidence, answer = final["blocks"][0]["text"]["text"], final["blocks"][1]["text"]["text"]
    assert evidence.startswith("*What the documents say*\n> “") and "[1]" in answer
    sources = final["blocks"][2]["elements"]
    assert "[1]" in final["text"] and sources[0]["text"].startswith("*[1] ")
    assert "docs/" in sources[0]["text"] and "\n> " in sources[0]["text"]
    assert "fake · scripted" in final["blocks"][-1]["elements"][0]["text"]

    follow = event_body(
        mention("<@UKB> And what about privacy?", "1700000000.000300", "1700000000.000100"), "Ev2"
    )
    assert post(url, follow, signed_headers(follow)) == 200
    recorder.wait_for(lambda: len(finals(recorder)) == 2)
    assert recorder.of("chat.postMessage")[1]["thread_ts"] == "1700000000.000100"
    condense = parts.session.pool.get("fake").calls[
        -2
    ]  # the rewrite of the follow-up saw the first turn
    assert "Is self-hosting cheaper at high volumes?" in str(condense)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"content-type": "application/json"}, id="unsigned"),
        pytest.param("bad", id="bad-signature"),
        pytest.param("stale", id="stale-timestamp"),
    ],
)
def test_unsigned_forged_or_stale_requests_get_401_and_no_answer(
    bot: Any, listeners: ListenerPool, headers: Any
) -> None:
    url, recorder, _ = bot
    body = event_body(mention(QUESTION, "1700000000.000100"), "Ev3")
    if headers == "bad":
        headers = signed_headers(body, secret="not-the-secret")
    elif headers == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - 600)
    assert post(url, body, headers) == 401
    listeners.wait_idle()  # anything the request started has finished
    assert recorder.calls == []


def test_a_retried_delivery_is_answered_once(bot: Any, listeners: ListenerPool) -> None:
    url, recorder, _ = bot
    body = event_body(mention(QUESTION, "1700000000.000100"), "Ev4")
    assert post(url, body, signed_headers(body)) == 200
    retry = signed_headers(body) | {
        "x-slack-retry-num": "1",
        "x-slack-retry-reason": "http_timeout",
    }
    assert post(url, body, retry) == 200
    assert post(url, body, signed_headers(body)) == 200  # a duplicate without the header, too
    recorder.wait_for(lambda: finals(recorder))
    listeners.wait_idle()  # all three deliveries handled (dispatch starts them before the 200)
    assert len(recorder.of("chat.postMessage")) == 1


def test_direct_messages_are_answered_bots_and_edits_are_not(
    bot: Any, listeners: ListenerPool
) -> None:
    url, recorder, _ = bot
    dm = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "text": "Is self-hosting cheaper at high volumes?",
        "ts": "1.1",
        "channel": "D1",
    }
    own = dm | {"bot_id": "BKB", "ts": "1.2"}
    edit = dm | {"subtype": "message_changed", "ts": "1.3"}
    for n, event in enumerate([own, edit, dm]):
        body = event_body(event, f"Ev5{n}")
        assert post(url, body, signed_headers(body)) == 200
    recorder.wait_for(lambda: finals(recorder))
    listeners.wait_idle()  # the bot's own message and the edit were handled too
    posts = recorder.of("chat.postMessage")
    assert len(posts) == 1 and posts[0]["channel"] == "D1" and posts[0]["thread_ts"] == "1.1"


def test_a_thread_picks_its_backend(bot: Any) -> None:
    url, recorder, _ = bot
    use = event_body(mention("<@UKB> use fake-2", "1.1"), "Ev6")
    post(url, use, signed_headers(use))
    recorder.wait_for(lambda: recorder.of("chat.postMessage"))
    assert "This thread now uses *fake-2*" in recorder.of("chat.postMessage")[0]["text"]
    ask = event_body(mention(QUESTION, "1.2", "1.1"), "Ev7")
    post(url, ask, signed_headers(ask))
    recorder.wait_for(lambda: finals(recorder))
    assert "scripted-2" in finals(recorder)[0]["blocks"][-1]["elements"][0]["text"]
    refuse = event_body(mention("<@UKB> use hosted-openai", "1.3", "1.1"), "Ev8")
    post(url, refuse, signed_headers(refuse))
    recorder.wait_for(lambda: len(recorder.of("chat.postMessage")) == 3)
    assert "can't use hosted-openai" in recorder.of("chat.postMessage")[2]["text"]


def test_a_thread_picks_the_collections_it_searches(bot: Any, tmp_path: Path) -> None:
    url, recorder, parts = bot
    note = tmp_path / "leave.md"
    note.write_text("# Leave\n\nStaff get thirty days of leave a year.\n")
    parts.session.library.add_files([(note, "leave.md")], None, "hr")

    def say(text: str, ts: str, event_id: str, replies: int) -> str:
        body = event_body(mention(f"<@UKB> {text}", ts, "2.1" if ts != "2.1" else None), event_id)
        post(url, body, signed_headers(body))
        recorder.wait_for(lambda: len(recorder.of("chat.postMessage")) == replies)
        return str(recorder.of("chat.postMessage")[-1]["text"])

    def answered(ts: str, event_id: str, replies: int) -> str:
        """The final edit of the reply to a question about costs."""
        before = len(finals(recorder))
        say(QUESTION.removeprefix("<@UKB> "), ts, event_id, replies)
        recorder.wait_for(lambda: len(finals(recorder)) > before)
        return json.dumps(finals(recorder)[-1])

    assert "now searches only *hr*" in say("use collection hr", "2.1", "Ec1", 1)
    assert "docs/" not in answered("2.2", "Ec2", 2)  # the costs documents are not searched
    refused = say("use collection nosuch", "2.3", "Ec3", 3)
    assert "can't" in refused and "nosuch" in refused and "hr (1)" in refused
    assert "*all* collections" in say("use collection all", "2.4", "Ec4", 4)
    assert "docs/" in answered("2.5", "Ec5", 5)


def test_errors_get_a_short_apology_in_the_thread(bot: Any) -> None:
    url, recorder, parts = bot

    def broken(messages: object) -> str:
        raise RuntimeError("secret internal detail")

    parts.session.pool.get("fake")._replies = broken
    parts.session.pool.rules = type(parts.session.pool.rules)("fake", "hosted-openai", ())
    body = event_body(mention(QUESTION, "1.1"), "Ev9")
    post(url, body, signed_headers(body))
    recorder.wait_for(lambda: any("Sorry" in u["text"] for u in recorder.of("chat.update")))
    apology = next(u for u in recorder.of("chat.update") if "Sorry" in u["text"])
    assert (
        "an internal error" in apology["text"] and "secret internal detail" not in apology["text"]
    )


def test_rate_limit_per_user() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("U1") and limiter.allow("U1") and not limiter.allow("U1")
    assert limiter.allow("U2")
    now[0] = 61.0
    assert limiter.allow("U1")


def _answered_while(url: str, recorder: Recorder, event_id: str) -> None:
    """A valid signed mention is still answered (the server keeps serving)."""
    ts = f"17000001{len(recorder.calls):02d}.000100"
    body = event_body(mention(QUESTION, ts), event_id)
    assert post(url, body, signed_headers(body)) == 200
    recorder.wait_for(lambda: any(u.get("blocks") for u in recorder.of("chat.update")), 20)


def test_an_oversized_body_gets_413_unread(bot: Any) -> None:
    url, recorder, _ = bot
    big = event_body(mention("<@UKB> " + "x" * 100_000, "1700000000.000100"), "EvBig")
    assert post(url, big, signed_headers(big)) == 413
    claimed = {**signed_headers("{}"), "content-length": str(10**9)}
    host, port = url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:  # no body sent at all
        head = "".join(f"{k}: {v}\r\n" for k, v in claimed.items())
        raw.sendall(f"POST /slack/events HTTP/1.1\r\nhost: {host}\r\n{head}\r\n".encode())
        assert raw.recv(64).startswith(b"HTTP/1.1 413")
    _answered_while(url, recorder, "EvAfterBig")


def test_a_client_sending_one_byte_a_second_is_cut_off_and_others_are_served(
    bot: Any,
) -> None:
    url, recorder, _ = bot
    body = event_body(mention(QUESTION, "1700000000.000200"), "EvSlow")
    host, port = url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=15) as slow:
        head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
        request = f"POST /slack/events HTTP/1.1\r\nhost: {host}\r\ncontent-length: {len(body)}\r\n"
        slow.sendall((request + head + "\r\n").encode())
        started = time.monotonic()
        _answered_while(url, recorder, "EvWhileSlow")  # meanwhile, someone else is answered
        reply = b""
        for byte in body.encode()[:20]:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                break
            slow.settimeout(1.0)
            try:
                reply = slow.recv(64)
            except TimeoutError:
                continue
            if reply:
                break
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert time.monotonic() - started < 10  # cut off at the read timeout (2 s here)


def test_http_mode_refuses_to_start_without_a_signing_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-0000")
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET"):
        serve(Settings(), http=True, host="127.0.0.1", port=0)
