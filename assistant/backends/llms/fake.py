"""A scripted chat model for fast unit tests: no weights, deterministic replies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from assistant.backends.llms.base import Message, UsageCallback, estimate_usage
from ingest.sentences import split_sentences


def quote_first_passage(messages: Sequence[Message]) -> str:
    """Default script: restate the first sentence of passage [1] and cite it."""
    prompt = messages[-1]["content"]
    match = re.search(r"^\[1\] (.+)$", prompt, re.MULTILINE)
    if not match:
        return "I don't know."
    first = (split_sentences(" ".join(match.group(1).split())) or [""])[0]
    return f"According to the documents, {first} [1]"


class ScriptedChatModel:
    """Replies from a list (in turn) or from a function of the messages; records every call."""

    def __init__(
        self,
        replies: Sequence[str] | Callable[[Sequence[Message]], str] = quote_first_passage,
        model: str = "scripted",
    ):
        self._replies = replies
        self._model = model
        self.calls: list[list[Message]] = []

    @property
    def backend(self) -> str:
        return "fake"

    @property
    def model(self) -> str:
        return self._model

    def _reply(self, messages: Sequence[Message]) -> str:
        if callable(self._replies):
            return self._replies(messages)
        return self._replies[(len(self.calls) - 1) % len(self._replies)]

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        self.calls.append(list(messages))
        reply = self._reply(messages)
        yield from re.findall(r"\S+\s*", reply)
        if on_usage:
            on_usage(estimate_usage(messages, reply))
