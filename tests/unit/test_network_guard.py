"""The suite's network guard (tests/support/network_guard.py): past loopback, connections
and name lookups fail with its error and fail the test even when swallowed; loopback and
unix sockets keep working."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from harness.http_servers import loopback_server
from tests.conftest import ROOT
from tests.support.network_guard import GUARD, NetworkBlockedError, is_local_host

SELFTEST = "KB_NETWORK_GUARD_SELFTEST"  # read at import, before the env fixture clears KB_*
RUN_SELFTEST = os.environ.get(SELFTEST) == "1"


@pytest.fixture
def blocked() -> Iterator[list[str]]:
    with GUARD.expecting_blocks() as seen:
        yield seen


@pytest.mark.parametrize("address", [("10.255.255.1", 80), ("93.184.216.34", 443)])
def test_connect_past_loopback_fails_naming_the_address(
    blocked: list[str], address: tuple[str, int]
) -> None:
    with socket.socket() as sock, pytest.raises(NetworkBlockedError, match=address[0]) as error:
        sock.connect(address)
    assert "network guard" in str(error.value) and "127.0.0.1" in str(error.value)
    with socket.socket() as sock, pytest.raises(NetworkBlockedError):
        sock.connect_ex(address)
    with pytest.raises(NetworkBlockedError, match=address[0]):
        socket.create_connection(address, timeout=1)
    assert len(blocked) == 3


def test_names_are_not_looked_up(blocked: list[str]) -> None:
    with pytest.raises(NetworkBlockedError, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(NetworkBlockedError):
        socket.gethostbyname("example.com")
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("example.com", 80), timeout=1)
    with socket.socket() as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("example.com", 80))  # connect resolves names in C: checked before
    assert all("example.com" in what for what in blocked) and len(blocked) == 4


def test_http_clients_and_asyncio_hit_the_guard(blocked: list[str]) -> None:
    import httpx

    with pytest.raises(NetworkBlockedError):
        urllib.request.urlopen("http://93.184.216.34/", timeout=1)
    with pytest.raises(NetworkBlockedError):
        httpx.get("https://example.com/", timeout=1)
    assert isinstance(_open_connection_in_a_fresh_loop("93.184.216.34"), NetworkBlockedError)
    assert len(blocked) == 3


def _open_connection_in_a_fresh_loop(host: str) -> BaseException | None:
    """asyncio in its own thread: an earlier test in the suite may leave a loop running here."""
    raised: list[BaseException] = []

    def connect() -> None:
        try:
            asyncio.run(asyncio.open_connection(host, 80))
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=connect)
    worker.start()
    worker.join(timeout=30)
    return raised[0] if raised else None


def test_ipv6_and_udp_past_loopback_are_blocked(blocked: list[str]) -> None:
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("2001:db8::1", 80, 0, 0))
    with socket.socket(type=socket.SOCK_DGRAM) as sock, pytest.raises(NetworkBlockedError):
        sock.sendto(b"x", ("10.255.255.1", 53))
    assert len(blocked) == 2


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", True),
        (None, True),
        ("10.255.255.1", False),
        ("::ffff:10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_what_counts_as_local(host: str | None, local: bool) -> None:
    assert is_local_host(host) is local


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_server_round_trip_works(host: str) -> None:
    with (
        loopback_server(_Hello) as port,
        urllib.request.urlopen(f"http://{host}:{port}/", timeout=5) as response,
    ):
        assert response.read() == b"hello"


def test_unix_sockets_work(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            peer, _ = server.accept()
            with peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"x")
        assert b.recv(1) == b"x"


if RUN_SELFTEST:  # only collected inside the child pytest below: no skip shows up in CI

    def test_selftest_swallows_a_blocked_connection() -> None:
        with contextlib.suppress(Exception):  # what careless code under test would do
            socket.create_connection(("10.255.255.1", 80), timeout=1)


def test_a_swallowed_block_still_fails_the_test() -> None:
    """The real conftest wiring, in a child pytest: the swallowing test must not pass."""
    selftest = f"{Path(__file__).relative_to(ROOT)}::test_selftest_swallows_a_blocked_connection"
    env = {**os.environ, SELFTEST: "1"}
    child = subprocess.run(
        [sys.executable, "-m", "pytest", selftest, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 1, child.stdout + child.stderr
    assert "1 passed, 1 error" in child.stdout
    assert "network guard: blocked during this test" in child.stdout
    assert "10.255.255.1" in child.stdout
