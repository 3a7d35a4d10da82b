"""The chat-model protocol and helpers built on top of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict


class Message(TypedDict):
    """One chat message: its role (system, user or assistant) and its text."""

    role: str
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens one completion used; `estimated` when the backend did not report them."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    server: str | None = None  # which server of a pool answered (its redacted URL)


UsageCallback = Callable[[Usage], None]


def estimate_usage(messages: Sequence[Message], reply: str) -> Usage:
    """About four characters a token: for backends that report nothing."""
    prompt = sum(len(m["content"]) for m in messages)
    return Usage(max(1, prompt // 4), max(1, len(reply) // 4) if reply else 0, estimated=True)


class ChatModel(Protocol):
    """Streams the reply to a list of messages, piece by piece, and reports its token usage
    to `on_usage` once the reply is complete."""

    @property
    def backend(self) -> str:
        """The profile's name (`local`, `openai`, ...), shown with every answer."""
        ...

    @property
    def model(self) -> str:
        """The model's name, shown with every answer."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        """The reply to `messages`, piece by piece; `on_usage` gets the token counts at the end."""
        ...


def complete(
    chat_model: ChatModel,
    messages: Sequence[Message],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    stop: Sequence[str] = (),
) -> str:
    """The whole reply as one string."""
    return "".join(
        chat_model.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
    )
