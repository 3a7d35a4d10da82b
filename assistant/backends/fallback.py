"""Generation over a chain of backends: when one fails, the next answers, and the user is told.

A failure before or during streaming moves to the next live backend in the chain; the
caller receives a `Restart` event (discard what was streamed so far, show why) and the new
backend's tokens. A backend that failed once in a turn is not asked again in that turn.
When the last one fails, its error propagates: the frontends keep the question.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assistant.backends.llms.base import ChatModel, Message, Usage, UsageCallback
from assistant.errors import BackendError, BackendUnavailableError
from ingest.models import Chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restart:
    """The answer so far is void: `failed` broke (`reason`), `next` answers from scratch."""

    failed: str
    reason: str
    next: str

    @property
    def note(self) -> str:
        """What the user is told: which backend failed, why, and which one answered."""
        return f"{self.failed} failed ({self.reason}); answered by {self.next}"


@runtime_checkable
class RestartingChatModel(ChatModel, Protocol):
    """A chat model that retries inside itself (a pool of servers): its events hold a
    `Restart` when the reply so far is void and starts over."""

    def stream_events(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str | Restart]: ...


@dataclass(frozen=True)
class Plan:
    """The backends for one question, first choice first, and why when a rule chose them."""

    chain: Sequence[ChatModel]
    reason: str | None = None
    refused: str | None = None  # why nothing may be sent anywhere (an empty chain)
    named: ChatModel | None = None  # with an empty chain: the backend the question was for


class Router(Protocol):
    """Plans one question: before retrieval (for condensing) without passages, then with the
    passages the model would read."""

    def __call__(
        self, question: str, history: Sequence[Message], passages: Sequence[Chunk] = ()
    ) -> Plan: ...


def fixed_chain(*models: ChatModel) -> Router:
    """A router that sends every question to `models`, first choice first."""
    return lambda question, history, passages=(): Plan(models)


@dataclass
class Turn:
    """What happened to one question across the chain."""

    chain: Sequence[ChatModel]
    route: str | None = None
    refused: str | None = None  # nothing may be sent: why
    failed: set[int] = field(default_factory=set)  # chain positions that failed this turn
    restarts: list[Restart] = field(default_factory=list)
    answered_by: ChatModel | None = None
    named: ChatModel | None = None  # with an empty chain: the backend the question was for

    @property
    def server(self) -> str | None:
        """The pool server that wrote the reply: the last call's (generation comes last)."""
        return self.usage[-1].server if self.usage and self.answered_by else None

    @property
    def labelled_by(self) -> ChatModel:
        """The backend an answer is labelled with: the one that wrote it, else the one the
        question went to first (a refusal made before generation)."""
        model = self.answered_by or (self.chain[0] if self.chain else self.named)
        if model is None:
            raise ValueError("a turn with no backend at all: the router planned none")
        return model

    usage: list[Usage] = field(default_factory=list)

    def untried(self) -> list[int]:
        """Chain positions not yet failed in this turn, in order."""
        return [i for i in range(len(self.chain)) if i not in self.failed]

    def fail(self, index: int, exc: BackendError) -> Restart | None:
        """Mark `index` failed; the Restart towards the next live backend, or None if none is left."""
        self.failed.add(index)
        failed = self.chain[index].backend
        left = self.untried()
        if not left:
            log.warning("%s failed: %s; no backend left to try", failed, exc)
            return None
        restart = Restart(failed, str(exc), self.chain[left[0]].backend)
        log.warning("%s failed: %s; falling back to %s", failed, exc, restart.next)
        self.restarts.append(restart)
        return restart


def stream_with_fallback(
    turn: Turn, messages: Sequence[Message], *, max_tokens: int, temperature: float
) -> Iterator[str | Restart]:
    """Tokens of the first backend that answers whole, with a `Restart` before each switch."""
    if not turn.untried():
        raise BackendUnavailableError("every configured backend failed for this question")
    for index in turn.untried():
        model = turn.chain[index]
        try:
            yield from _events(turn, model, messages, max_tokens, temperature)
        except BackendError as exc:
            restart = turn.fail(index, exc)
            if restart is None:
                raise
            yield restart
            continue
        turn.answered_by = model
        return


def _events(
    turn: Turn, model: ChatModel, messages: Sequence[Message], max_tokens: int, temperature: float
) -> Iterator[str | Restart]:
    """One backend's reply; a pool's own restarts (another server starts over) are kept in
    `turn.restarts` like the chain's, so the answer's note names both servers."""
    usage = turn.usage.append
    if not isinstance(model, RestartingChatModel):
        yield from model.stream(
            messages, max_tokens=max_tokens, temperature=temperature, on_usage=usage
        )
        return
    events = model.stream_events(
        messages, max_tokens=max_tokens, temperature=temperature, on_usage=usage
    )
    try:
        for event in events:
            if isinstance(event, Restart):
                turn.restarts.append(event)
            yield event
    finally:  # the pool must hear that the caller stopped reading: its server is free again
        close = getattr(events, "close", None)
        if close:
            close()


def complete_with_fallback(
    turn: Turn, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
) -> str:
    """The whole reply of the first backend that answers (for query rewriting)."""
    pieces: list[str] = []
    for event in stream_with_fallback(
        turn, messages, max_tokens=max_tokens, temperature=temperature
    ):
        if isinstance(event, Restart):
            pieces.clear()
        else:
            pieces.append(event)
    return "".join(pieces)
