"""One hosted profile served by several OpenAI-compatible servers (`base_urls`).

Each request goes to the server with the fewest requests in flight (`breaker.ServerPicker`);
a server that fails (unreachable, timeout, HTTP 429/5xx, a stream broken before its end) is
skipped for the profile's cool-down. A question whose server fails is asked again, from the
start, on another server of the pool: `stream_events` yields a `Restart` first, so the caller
drops what the failed server had streamed (as the fallback chain does between profiles).
When no server is left the error propagates and the fallback chain (`llm.fallback`) goes on.
This module does not speak HTTP itself: each server is an `OpenAICompatibleChatModel`.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import replace

from assistant.backends.breaker import ServerPicker
from assistant.backends.fallback import Restart
from assistant.backends.llms.base import ChatModel, Message, Usage, UsageCallback
from assistant.backends.llms.hosted import redact_url
from assistant.errors import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
)
from assistant.telemetry.metrics import observe_server

log = logging.getLogger(__name__)


def is_server_failure(exc: BackendError) -> bool:
    """A failure of that server, which another server may not have: unreachable, too slow,
    overloaded or broken (429, 5xx). A rejected key or a bad request (other 4xx) is not."""
    if isinstance(exc, BackendTimeoutError | BackendUnavailableError):
        return True
    return exc.status is None or exc.status == 429 or exc.status >= 500


COOLDOWN_S = 30.0  # a server that failed is skipped this long before it is tried again


class ServerPoolChatModel:
    """A `ChatModel` over several servers of one profile; `stream_events` also yields a
    `Restart` when a server failed and another one starts the reply over."""

    def __init__(
        self,
        profile: str,
        servers: Sequence[ChatModel],
        urls: Sequence[str],
        cooldown_s: float = COOLDOWN_S,
    ):
        self._profile = profile
        self._servers = list(servers)
        self.urls = [redact_url(url) or url for url in urls]
        self.picker = ServerPicker(len(self._servers), cooldown_s)

    @property
    def backend(self) -> str:
        return self._profile

    @property
    def model(self) -> str:
        return self._servers[0].model

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        """The reply as plain text, for callers that cannot take a restart: a server failing
        before its first piece is replaced silently, one failing after it is an error."""
        shown = False
        events = self.stream_events(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop, on_usage=on_usage
        )
        with closing(events):
            for event in events:
                if isinstance(event, Restart):
                    if shown:
                        raise BackendUnavailableError(f"{event.failed} failed: {event.reason}")
                    continue
                shown = True
                yield event

    def stream_events(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Generator[str | Restart, None, None]:
        """The reply of the first server that finishes it, a `Restart` before each retry."""
        tried: set[int] = set()
        index = self._acquire(tried, None)
        while True:
            try:
                yield from self._attempt(index, messages, max_tokens, temperature, stop, on_usage)
                return
            except BackendError as exc:
                if not is_server_failure(exc):
                    raise
                tried.add(index)
                following = self._acquire(tried, exc)
                log.warning(
                    "%s failed: %s; retrying on %s", self.urls[index], exc, self.urls[following]
                )
                yield Restart(self._where(index), str(exc), self._where(following))
                index = following

    def _attempt(
        self,
        index: int,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        on_usage: UsageCallback | None,
    ) -> Iterator[str]:
        """One server's reply; its breaker learns the outcome whatever happens."""
        url = self.urls[index]

        def served(usage: Usage) -> None:
            if on_usage:
                on_usage(replace(usage, server=url))

        ok = True
        try:
            yield from self._servers[index].stream(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop, on_usage=served
            )
        except BackendError as exc:
            ok = not is_server_failure(exc)
            raise
        finally:  # also when the caller stops reading: the request is no longer in flight
            self.picker.release(index, ok)
            observe_server(self._profile, url, "ok" if ok else "failed")

    def _acquire(self, tried: set[int], last: BackendError | None) -> int:
        index = self.picker.acquire(tried)
        if index is not None:
            return index
        count = len(self._servers)
        why = f"; the last one: {last}" if last else " (each failed within its cool-down)"
        raise BackendUnavailableError(
            f"every server of {self._profile} is down ({count} in its base_urls){why}"
        )

    def _where(self, index: int) -> str:
        return f"{self._profile} at {self.urls[index]}"
