"""The chat-model protocol, helpers built on top of it, and what an answer cost: tokens of
every model call, and USD when the backend's price is known."""

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


@dataclass(frozen=True)
class Price:
    """USD per million tokens; local models cost nothing."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0


class UsageSummary(TypedDict):
    """Tokens of one answer's model calls, and their cost: the `usage` field of `kb ask --json`."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool  # a backend that reports no counts was estimated from the text
    cost_usd: float | None  # None: the backend's price is unknown


def usage_summary(usages: Sequence[Usage], price: Price | None) -> UsageSummary | None:
    """Tokens of every call made for one answer, and their cost when the price is known."""
    if not usages:
        return None
    prompt = sum(u.prompt_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    cost = None
    if price is not None:
        cost = (prompt * price.prompt_per_mtok + completion * price.completion_per_mtok) / 1e6
    return UsageSummary(
        prompt_tokens=prompt,
        completion_tokens=completion,
        estimated=any(u.estimated for u in usages),
        cost_usd=None if cost is None else round(cost, 6),
    )


def usage_text(usage: UsageSummary | None, separator: str, *, detailed: bool) -> str:
    """`usage_summary`'s tokens and cost as text, each part led by `separator`; `detailed` (the
    page) marks estimated counts with `~` and says "free" or "cost unknown", where the terminal
    line names a known cost only."""
    if not usage:
        return ""
    approx = "~" if detailed and usage["estimated"] else ""
    parts = [f"{approx}{usage['prompt_tokens']}+{usage['completion_tokens']} tokens"]
    cost = usage["cost_usd"]
    if detailed and cost is None:
        parts.append("cost unknown")
    elif detailed and cost == 0:
        parts.append("free")
    elif cost is not None:
        parts.append(f"${cost:.4f}")
    return "".join(separator + part for part in parts)
