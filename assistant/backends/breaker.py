"""Which server of a pool takes the next request: least outstanding requests first (ties in
turn), and a circuit breaker per server.

A server that failed is skipped for `cooldown_s`; after it, one request may try it again
(half-open) while the others still go elsewhere; that request's outcome closes the breaker or
opens it for another cool-down. This module knows nothing of HTTP or models: it counts, with
a clock handed in, so it is tested without servers or sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass


@dataclass
class _Server:
    outstanding: int = 0
    opened_at: float | None = None  # when the breaker opened; None: closed
    trial: bool = False  # a half-open request is in flight


class ServerPicker:
    """Hands out server positions `0..count-1` and takes their outcome back; thread-safe."""

    def __init__(self, count: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        if count < 1:
            raise ValueError("a pool needs at least one server")
        self._servers = [_Server() for _ in range(count)]
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._next = 0  # where the round robin starts among equally loaded servers
        self._lock = threading.Lock()

    def acquire(self, exclude: Collection[int] = ()) -> int | None:
        """The server for one request (counted as outstanding until `release`), or None when
        every server not in `exclude` is cooling down or already on its half-open trial."""
        with self._lock:
            ready = [i for i in self._rotation() if i not in exclude and self._ready(i)]
            if not ready:
                return None
            chosen = min(ready, key=lambda i: self._servers[i].outstanding)  # first of ties
            server = self._servers[chosen]
            server.trial = server.opened_at is not None
            server.outstanding += 1
            self._next = (chosen + 1) % len(self._servers)
            return chosen

    def release(self, index: int, ok: bool) -> None:
        """The request on `index` ended: `ok` closes its breaker, a failure opens it now."""
        with self._lock:
            server = self._servers[index]
            server.outstanding -= 1
            server.trial = False
            server.opened_at = None if ok else self._clock()

    def state(self, index: int) -> str:
        """`closed`, `open` (cooling down) or `half-open` (its cool-down is over)."""
        with self._lock:
            opened = self._servers[index].opened_at
            if opened is None:
                return "closed"
            return "open" if self._clock() - opened < self._cooldown_s else "half-open"

    def outstanding(self, index: int) -> int:
        """Requests on `index` not yet released."""
        with self._lock:
            return self._servers[index].outstanding

    def _rotation(self) -> list[int]:
        count = len(self._servers)
        return [(self._next + k) % count for k in range(count)]

    def _ready(self, index: int) -> bool:
        server = self._servers[index]
        if server.opened_at is None:
            return True
        cooled = self._clock() - server.opened_at >= self._cooldown_s
        return cooled and not server.trial
