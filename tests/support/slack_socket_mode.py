"""A loopback stand-in for Slack's Socket Mode endpoint: the WebSocket that
`apps.connections.open` hands out (https://docs.slack.dev/apis/events-api/using-socket-mode/).

It speaks RFC 6455 with the standard library only, as slack_sdk's built-in client does: the
upgrade handshake, then unmasked frames out and masked frames in. On each connection it sends
Slack's `hello`, then every envelope given to `deliver`, and records what comes back: acks
(`{"envelope_id": ...}`) in `acks`; pings are answered with pongs, as Slack does (the client
pings once on connecting and then every `ping_interval`, and calls a silent server stale).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA

HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "applink-loopback", "approximate_connection_time": 18060},
    "connection_info": {"app_id": "A1"},
}


def events_api_envelope(
    event_body: dict[str, Any], envelope_id: str | None = None
) -> dict[str, Any]:
    """An Events API delivery as Socket Mode wraps it; a first delivery says retry_attempt 0."""
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": event_body,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
    }


def _frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: final, unmasked (a server must not mask)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = sock.recv(size - len(data))
        if not piece:
            raise ConnectionError("the client closed the connection")
        data += piece
    return data


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One client frame (clients must mask); returns (opcode, unmasked payload)."""
    first, second = _read_exactly(sock, 2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", _read_exactly(sock, 2))
    elif size == 127:
        (size,) = struct.unpack("!Q", _read_exactly(sock, 8))
    if not second & 0x80:
        raise ConnectionError("an unmasked client frame")
    mask = _read_exactly(sock, 4)
    data = _read_exactly(sock, size)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _handshake(sock: socket.socket) -> str:
    """Answer the HTTP upgrade; returns the request line (method and path)."""
    request = b""
    while b"\r\n\r\n" not in request:
        piece = sock.recv(1024)
        if not piece:
            raise ConnectionError("the client closed the connection during the handshake")
        request += piece
    lines = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    digest = hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()
    sock.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {base64.b64encode(digest).decode()}\r\n\r\n"
        ).encode()
    )
    return lines[0]


class SocketModeServer:
    """One client at a time on 127.0.0.1; `url` is what `apps.connections.open` returns."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=loopback"
        self.requests: list[str] = []  # each connection's request line
        self.acks: list[dict[str, Any]] = []
        self.other_messages: list[str] = []  # text frames that are not acks
        self.closed_by_client = threading.Event()
        self._client: socket.socket | None = None
        self._lock = threading.Lock()  # one sender at a time: replies to pings, deliveries
        self._connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed by `close()`
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            self.requests.append(_handshake(client))
            self._send(client, TEXT, json.dumps(HELLO).encode())
            with self._lock:
                self._client = client
            self._connected.set()
            self._receive(client)
        with self._lock:
            if self._client is client:
                self._client, self._connected = None, threading.Event()
        self.closed_by_client.set()

    def _receive(self, client: socket.socket) -> None:
        while True:
            try:
                opcode, data = _read_frame(client)
            except OSError:  # ConnectionError included: the client went away
                return
            if opcode == PING:
                self._send(client, PONG, data)
            elif opcode == CLOSE:
                return
            elif opcode == TEXT:
                message = json.loads(data)
                if set(message) <= {"envelope_id", "payload"} and "envelope_id" in message:
                    self.acks.append(message)
                else:
                    self.other_messages.append(data.decode())

    def _send(self, client: socket.socket, opcode: int, payload: bytes) -> None:
        with self._lock:
            client.sendall(_frame(opcode, payload))

    def deliver(self, envelope: dict[str, Any], seconds: float = 20) -> None:
        """Send an envelope to the connected client (waiting for it to connect)."""
        if not self._connected.wait(seconds):
            raise AssertionError(f"no Socket Mode client connected within {seconds} s")
        with self._lock:
            client = self._client
        assert client is not None
        self._send(client, TEXT, json.dumps(envelope).encode())

    def wait_for(self, check: Callable[[], bool], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; acks so far: {self.acks}")
            time.sleep(0.02)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            if self._client is not None:
                self._client.close()


@contextmanager
def socket_mode_server() -> Iterator[SocketModeServer]:
    server = SocketModeServer()
    try:
        yield server
    finally:
        server.close()
