"""Loopback HTTP servers for hosted-backend tests: scripted faults on the OpenAI chat route,
and Anthropic's Messages API replayed from a recorded stream.

No Anthropic server can run offline, so `ANTHROPIC_STREAM` is a recorded protocol fixture:
the server-sent events of one streamed Messages API reply, in the order and shape the API
documents (message_start, content_block_*, message_delta with usage, message_stop).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Script:
    """What the server does: `status` (an error), `hang_s`, or stream `chunks` then maybe `cut`."""

    status: int = 200
    hang_s: float = 0.0
    chunks: list[str] = field(default_factory=lambda: ["Self-hosting ", "is ", "cheaper."])
    cut_after: int | None = None  # close the connection after this many chunks
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _openai_chunk(
    text: str | None, usage: dict[str, int] | None = None, finish: str | None = None
) -> bytes:
    delta = {"content": text} if text is not None else {}
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": choices,
    }
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


class _OpenAIHandler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        s = self.script
        length = int(self.headers.get("content-length", 0))
        s.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        s.headers.append({k.lower(): v for k, v in self.headers.items()})
        if s.hang_s:
            time.sleep(s.hang_s)
            return
        if s.status != 200:
            self._error(s.status)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for n, text in enumerate(s.chunks):
            if s.cut_after is not None and n == s.cut_after:
                self.wfile.flush()
                self.connection.shutdown(2)  # the server dies mid-answer
                return
            self.wfile.write(_openai_chunk(text))
            self.wfile.flush()
            time.sleep(0.02)
        self.wfile.write(_openai_chunk(None, finish="stop"))
        self.wfile.write(
            _openai_chunk(None, {"prompt_tokens": 42, "completion_tokens": 3, "total_tokens": 45})
        )
        self.wfile.write(b"data: [DONE]\n\n")

    def _error(self, status: int) -> None:
        body = json.dumps({"error": {"message": f"scripted {status}", "type": "test"}}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if status == 429:
            self.send_header("retry-after", "0")
        self.end_headers()
        self.wfile.write(body)


ANTHROPIC_STREAM = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "claude-haiku-4-5",
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 57, "output_tokens": 1},
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Self-hosting is "},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "cheaper at very high volumes."},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


class _AnthropicHandler(_OpenAIHandler):
    def do_POST(self) -> None:
        s = self.script
        length = int(self.headers.get("content-length", 0))
        s.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        s.headers.append({k.lower(): v for k, v in self.headers.items()})
        if s.status != 200:
            body = json.dumps({"type": "error", "error": {"type": "test", "message": "scripted"}})
            self.send_response(s.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for event, data in ANTHROPIC_STREAM:
            self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on a free 127.0.0.1 port in a background thread; yield the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(script: Script, anthropic: bool = False) -> Iterator[str]:
    """Run a scripted server on a free loopback port; yield its base URL (with /v1 for OpenAI)."""
    handler = type(
        "Handler", (_AnthropicHandler if anthropic else _OpenAIHandler,), {"script": script}
    )
    with loopback_server(handler) as port:
        yield f"http://127.0.0.1:{port}" + ("" if anthropic else "/v1")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, server: subprocess.Popen[bytes], seconds: float = 180, interval: float = 1.0
) -> None:
    """Wait until `url` answers, asking every `interval` seconds; fail if `server` (app.py)
    exits or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"app.py exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(interval)
    raise AssertionError(f"app.py did not answer on {url} within {seconds} s")


@contextmanager
def running_app(root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`app.py` (in checkout `root`) on a free loopback port, its output discarded: its URL,
    once it answers; stopped on leaving."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=root,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
