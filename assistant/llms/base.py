"""The chat-model protocol and helpers built on top of it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypedDict


class Message(TypedDict):
    role: str
    content: str


class ChatModel(Protocol):
    """Streams the reply to a list of messages, piece by piece."""

    @property
    def backend(self) -> str: ...

    @property
    def model(self) -> str: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[str]: ...


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
