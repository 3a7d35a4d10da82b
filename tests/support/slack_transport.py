"""The bot as Slack reaches it, both ways: Events API requests signed like Slack's over HTTP,
or envelopes over the real Socket Mode WebSocket (slack_sdk's client against the loopback
server). Events, slash commands and button clicks go in the same way in both; what the bot
posts lands in the Web API recorder, and `response_url` posts (slash commands, clicks) land
there too, under the method name `response_url`. Everything the bot sends is checked against
Slack's limits (`slack_limits`); a bot that leaves with a refused call fails its test.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from slack_bolt import App

from tests.support.slack_api import (
    SECRET,
    ListenerPool,
    Recorder,
    event_body,
    signed_headers,
    slack_api,
)
from tests.support.slack_socket_mode import (
    SocketModeServer,
    events_api_envelope,
    socket_mode_server,
)

MODES = ("http", "socket")
APP_TOKEN = "xapp-1-A1-0000-test"
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


class SlackTransport:
    """Deliver what Slack would deliver; `http` or `socket` mode."""

    def __init__(self, mode: str, api_url: str, recorder: Recorder, listeners: ListenerPool):
        self.mode, self.recorder, self.listeners = mode, recorder, listeners
        self._hooks = api_url.removesuffix("api/") + "hooks"
        self._ids = itertools.count(1)
        self.url = ""  # HTTP mode: the events endpoint
        self.socket: SocketModeServer | None = None

    def event(self, event: dict[str, Any], team: str = "T1") -> None:
        """An Events API delivery (acked, else the test fails)."""
        body = json.loads(event_body(event, f"Ev{next(self._ids)}"))
        body["team_id"] = team
        self._send("events_api", body, json.dumps(body), "application/json")

    def command(self, text: str, user: str = "U1", channel: str = "C1") -> dict[str, Any]:
        """`/kb TEXT` typed by `user`; returns the ack's body (what the asker sees at once)."""
        form = {
            "token": "legacy-unused",
            "team_id": "T1",
            "team_domain": "kb-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "ann",
            "command": "/kb",
            "text": text,
            "api_app_id": "A1",
            "response_url": f"{self._hooks}/commands/{next(self._ids)}/response_url",
            "trigger_id": "1.2.3",
        }
        raw = urllib.parse.urlencode(form)
        return self._send("slash_commands", form, raw, "application/x-www-form-urlencoded")

    def click(self, action_id: str, value: str, user: str = "U1") -> dict[str, Any]:
        """A click on a button of a message in C1; returns the ack's body."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "ann", "team_id": "T1"},
            "api_app_id": "A1",
            "token": "legacy-unused",
            "container": {"type": "message", "message_ts": "1800000000.000001", "channel_id": "C1"},
            "trigger_id": "1.2.3",
            "team": {"id": "T1", "domain": "kb-test"},
            "channel": {"id": "C1", "name": "general"},
            "response_url": f"{self._hooks}/actions/{next(self._ids)}/response_url",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "kb-feedback",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        raw = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._send("interactive", payload, raw, "application/x-www-form-urlencoded")

    def _send(
        self, kind: str, payload: dict[str, Any], raw: str, content_type: str
    ) -> dict[str, Any]:
        if self.socket is not None:
            return self._over_socket(kind, payload)
        headers = signed_headers(raw) | {"content-type": content_type}
        request = urllib.request.Request(self.url, raw.encode(), headers, method="POST")
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, f"{kind} not acked: HTTP {response.status}"
            text = response.read().decode()
        assert time.monotonic() - started < 3, "not acknowledged within Slack's 3 seconds"
        return json.loads(text) if text.strip() else {}

    def _over_socket(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        if kind == "events_api":
            envelope = events_api_envelope(payload)
        else:
            envelope = {
                "envelope_id": str(uuid.uuid4()),
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind == "slash_commands",
            }
        started = time.monotonic()
        self.socket.deliver(envelope)
        ack = lambda: [a for a in self.socket.acks if a["envelope_id"] == envelope["envelope_id"]]  # noqa: E731
        self.socket.wait_for(lambda: bool(ack()), 10)
        assert time.monotonic() - started < 3, "not acknowledged within Slack's 3 seconds"
        return dict(ack()[0].get("payload") or {})

    def responses(self) -> list[dict[str, Any]]:
        """What was posted to response URLs (slash command answers, click thanks)."""
        return self.recorder.of("response_url")


@contextmanager
def running_bot(
    mode: str, make_app: Any, monkeypatch: pytest.MonkeyPatch, update_every_s: float = 0.01
) -> Iterator[SlackTransport]:
    """`make_app(listeners)` -> the Bolt app, run over HTTP or Socket Mode on loopback, its Web
    API pointed at a recorder."""
    from assistant.frontends.slack.app import http_server, run_socket_mode

    for name in PROXIES:  # slack_sdk would tunnel loopback through a proxy
        monkeypatch.delenv(name, raising=False)
    listeners = ListenerPool()
    with slack_api() as (api_url, recorder):
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token-0000")
        monkeypatch.setenv("KB_SLACK__API_BASE_URL", api_url)
        monkeypatch.setenv("KB_SLACK__UPDATE_EVERY_S", str(update_every_s))
        monkeypatch.setenv("KB_SLACK__BACKEND", "fake")
        transport = SlackTransport(mode, api_url, recorder, listeners)
        if mode == "http":
            monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
            app: App = make_app(listeners)
            server = http_server(app, "127.0.0.1", 0, SECRET)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            transport.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
            try:
                yield transport
            finally:
                server.shutdown()
                listeners.shutdown(wait=True)
            assert recorder.rejected == [], "Slack would have refused these calls"
            return
        monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
        with socket_mode_server() as slack:
            recorder.socket_url = slack.url
            transport.socket = slack
            app = make_app(listeners)
            stop = threading.Event()
            runner = threading.Thread(
                target=run_socket_mode, args=(app, APP_TOKEN), kwargs={"stop": stop}, daemon=True
            )
            runner.start()
            try:
                yield transport
            finally:
                stop.set()
                runner.join(30)
                listeners.shutdown(wait=True)
            assert recorder.rejected == [], "Slack would have refused these calls"
