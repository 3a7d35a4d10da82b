"""The test suite's network guard: no test may reach past this machine.

`NetworkGuard.install()` patches, in this process only, the Python socket calls everything
else goes through: `socket.socket.connect`, `connect_ex` and `sendto` (so `create_connection`,
`ssl`, `asyncio`, `urllib`, `httpx`/`httpcore` and `requests` too) and the name lookups
`getaddrinfo`, `gethostbyname` and `gethostbyname_ex`. Loopback addresses, `localhost`,
the unspecified address (a server binding all interfaces) and non-IP families (unix
sockets, netlink) pass; anything else raises `NetworkBlockedError` naming the address, and
is recorded, so a test whose code swallows the error still fails at teardown
(`NetworkGuardPlugin`).

What it does not cover: other processes (subprocesses, Playwright's Chromium, a llama.cpp
server), and native code that opens sockets without Python's `socket` module (gRPC's C
core, as used by pymilvus; uvloop). `tests/integration/test_offline.py` covers those the
hard way, in a network namespace with no network.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

HOW_TO_FIX = (
    "tests must not use the network: serve a fake on 127.0.0.1 instead "
    "(see tests/support/network_guard.py)"
)
LOCAL_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(RuntimeError):
    """A test tried to reach past loopback. Not an `OSError`: code that handles connection
    failures must not mistake it for a server being down and carry on."""


def is_local_host(host: object) -> bool:
    """Loopback, `localhost`, or the unspecified address (binding every interface)."""
    if host is None or host == "" or host == b"":
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOCAL_NAMES or name.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False  # a name to look up: only the ones above are known to stay here
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


class NetworkGuard:
    """Patches the socket module; remembers every blocked attempt until it is reported."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self._expected: list[str] | None = None
        self._lock = threading.Lock()
        self._originals: dict[tuple[Any, str], Callable[..., Any]] = {}

    def refuse(self, what: str) -> NetworkBlockedError:
        with self._lock:
            (self.blocked if self._expected is None else self._expected).append(what)
        return NetworkBlockedError(f"network guard blocked {what}: {HOW_TO_FIX}")

    def check_address(self, family: int, address: Any, call: str) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets, netlink, ...
        host = address[0] if isinstance(address, tuple) and address else address
        if not is_local_host(host):
            raise self.refuse(f"{call} to {address!r}")

    def check_lookup(self, host: Any, call: str) -> None:
        if not is_local_host(host):
            raise self.refuse(f"{call} of {host!r}")

    def take_blocked(self) -> list[str]:
        """The attempts recorded since the last call; they count as reported."""
        with self._lock:
            taken, self.blocked = self.blocked, []
        return taken

    @contextmanager
    def expecting_blocks(self) -> Iterator[list[str]]:
        """For the guard's own tests: blocked attempts inside are expected, not failures."""
        seen: list[str] = []
        self._expected = seen
        try:
            yield seen
        finally:
            self._expected = None

    def install(self) -> None:
        if self._originals:
            return
        self._patch_socket_methods()
        self._patch_lookups()

    def uninstall(self) -> None:
        for (owner, name), original in self._originals.items():
            setattr(owner, name, original)
        self._originals.clear()

    def _keep(self, owner: Any, name: str) -> Callable[..., Any]:
        original: Callable[..., Any] = getattr(owner, name)
        self._originals[(owner, name)] = original
        return original

    def _patch_socket_methods(self) -> None:
        guard = self
        connect = self._keep(socket.socket, "connect")
        connect_ex = self._keep(socket.socket, "connect_ex")
        sendto = self._keep(socket.socket, "sendto")

        def guarded_connect(sock: socket.socket, address: Any) -> None:
            guard.check_address(sock.family, address, "connect")
            connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
            guard.check_address(sock.family, address, "connect_ex")
            return int(connect_ex(sock, address))

        def guarded_sendto(sock: socket.socket, data: Any, *args: Any) -> int:
            guard.check_address(sock.family, args[-1], "sendto")
            return int(sendto(sock, data, *args))

        setattr(socket.socket, "connect", guarded_connect)  # noqa: B010  (typed as _socket's)
        setattr(socket.socket, "connect_ex", guarded_connect_ex)  # noqa: B010
        setattr(socket.socket, "sendto", guarded_sendto)  # noqa: B010

    def _patch_lookups(self) -> None:
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            setattr(socket, name, self._guarded_lookup(name, self._keep(socket, name)))

    def _guarded_lookup(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
            self.check_lookup(host, name)
            return original(host, *args, **kwargs)

        lookup.__name__ = lookup.__qualname__ = name
        return lookup


class NetworkGuardPlugin:
    """pytest hooks: install the guard for the whole session and fail any test (setup, call
    or teardown) during which an attempt was blocked, even if the code swallowed the error."""

    def __init__(self, guard: NetworkGuard):
        self.guard = guard

    def pytest_configure(self, config: pytest.Config) -> None:
        self.guard.install()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.guard.uninstall()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._fail_if_blocked("before this test (collection or an earlier session teardown)")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        result = yield
        self._fail_if_blocked("during this test")
        return result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        late = self.guard.take_blocked()
        if late:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"network guard: blocked after the last test: {late}", red=True)

    def _fail_if_blocked(self, when: str) -> None:
        attempts = self.guard.take_blocked()
        if attempts:
            listed = "\n  ".join(attempts)
            pytest.fail(f"network guard: blocked {when}:\n  {listed}\n{HOW_TO_FIX}", pytrace=False)


GUARD = NetworkGuard()
