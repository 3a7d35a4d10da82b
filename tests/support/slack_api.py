"""A loopback stand-in for Slack's Web API that records what the bot posts, a signer that
makes Events API requests the way Slack does (v0 HMAC-SHA256 over timestamp and body), and a
listener pool the tests can wait on."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.http_servers import loopback_server
from tests.support.slack_limits import slack_error

SECRET = "test-signing-secret-0123456789"


class Recorder:
    """Every Web API call, in order; a call Slack would refuse (`slack_limits`) is recorded and
    answered with Slack's error."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self._ts = itertools.count(1)
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self.tokens: dict[str, str] = {}  # method -> the bearer token it was last called with
        self.rejected: list[tuple[str, dict[str, Any]]] = []  # (method, Slack's error reply)

    def add(self, method: str, args: dict[str, Any], token: str = "") -> dict[str, Any]:
        with self.lock:
            self.calls.append((method, args))
            self.tokens[method] = token
            ts = f"1800000000.{next(self._ts):06d}"
        if error := slack_error(method, args):  # recorded, then refused as Slack refuses it
            with self.lock:
                self.rejected.append((method, error))
            return error
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.getPermalink":
            thread = str(args.get("message_ts", "")).replace(".", "")
            link = f"https://kb-test.slack.com/archives/{args.get('channel')}/p{thread}"
            return {"ok": True, "channel": args.get("channel"), "permalink": link}
        if method == "apps.connections.open" and self.socket_url:
            return {"ok": True, "url": self.socket_url}
        return {"ok": True, "user_id": "UKB", "bot_id": "BKB", "team_id": "T1"}

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for m, args in self.calls if m == method]

    def wait_for(self, check: Any, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out; calls so far: {[m for m, _ in self.calls]}")


class ListenerPool(ThreadPoolExecutor):
    """Bolt's listener threads (`build_slack_app(listener_executor=...)`), each job kept so a
    test can wait until everything the app started has finished, then assert what did not
    happen."""

    def __init__(self) -> None:
        super().__init__(max_workers=5, thread_name_prefix="bolt-listener")
        self._jobs: list[Future[Any]] = []
        self._jobs_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        job = super().submit(fn, *args, **kwargs)
        with self._jobs_lock:
            self._jobs.append(job)
        return job

    def wait_idle(self, seconds: float = 60) -> int:
        """Wait for every listener started so far; returns how many there were."""
        with self._jobs_lock:
            jobs = list(self._jobs)
        _, pending = wait(jobs, timeout=seconds)
        assert not pending, f"{len(pending)} listener(s) still running after {seconds} s"
        return len(jobs)


def _args(body: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return dict(json.loads(body or b"{}"))
    args: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
    if isinstance(args.get("blocks"), str):
        args["blocks"] = json.loads(args["blocks"])
    return args


@contextmanager
def slack_api() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            method = self.path.rsplit("/", 1)[-1]
            args = _args(body, self.headers.get("content-type", ""))
            token = self.headers.get("authorization", "").removeprefix("Bearer ")
            reply = json.dumps(recorder.add(method, args, token)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    with loopback_server(Handler) as port:
        yield f"http://127.0.0.1:{port}/api/", recorder


def signed_headers(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
    }


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )
