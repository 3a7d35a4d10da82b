"""Test doubles: a scripted chat model and a hashing embedder, for fast tests only.

They are not part of kb: no setting, `--help` or page offers them. `install()` registers them
through kb's test hooks (`register_kind_for_tests`, `register_embedder_for_tests`) under the names `fake` and
`hashing`; the test suite does it at start-up (tests/conftest.py), and a test that runs kb in a
child process runs `python -m tests.support.fake_kb` (kb's CLI with the fakes installed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from assistant.backends.llms.base import ChatModel, Message, UsageCallback, estimate_usage
from assistant.backends.profiles import register_kind_for_tests
from assistant.settings import ProfileSettings, Settings
from assistant.wiring import register_embedder_for_tests
from index.embedders import Embedder
from ingest.sentences import split_sentences

FAKE_KIND = "fake"
HASHING_EMBEDDER = "hashing"


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


class HashingEmbedder:
    """Fast deterministic fake for unit tests: bag of hashed words, normalised. Not semantic."""

    def __init__(self, dimension: int = 256):
        self._dimension = dimension

    @property
    def id(self) -> str:
        return f"hashing-{self._dimension}"

    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self._dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def _scripted(name: str, profile: ProfileSettings, settings: Settings) -> ChatModel:
    return ScriptedChatModel()


def _hashing(settings: Settings) -> Embedder:
    return HashingEmbedder()


def install() -> None:
    """Make `KB_PROFILES__<NAME>__KIND=fake` and `KB_EMBEDDER__BACKEND=hashing` mean the fakes."""
    register_kind_for_tests(FAKE_KIND, _scripted, local=True)
    register_embedder_for_tests(HASHING_EMBEDDER, _hashing)


FAKE_SETTINGS = {
    "KB_EMBEDDER__BACKEND": "hashing",
    "KB_LLM__BACKEND": "fake",
    "KB_PROFILES__FAKE__KIND": "fake",
}  # `kb` in a test: the hashing embedder and the scripted model, set in the environment
