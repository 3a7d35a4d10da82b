"""When not to show a model's reply as an answer: weak retrieval, "I don't know", echoes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.models import Hit
from ingest.sentences import split_sentences

_DONT_KNOW = re.compile(
    r"\b(i don'?t know|i do not know|i'?m not sure|i cannot (answer|find)|i can'?t (answer|find)"
    r"|(passages?|documents?|context|text)\s+(do|does)\s*(not|n'?t)\s+"
    r"(say|mention|contain|provide|specify|include|answer|discuss|cover)"
    r"|not (mentioned|provided|stated|specified|found|covered|given) in the (passages?|documents?|context|text)"
    r"|no (information|mention) (about|of|on|regarding))",
    re.IGNORECASE,
)
_WORDS = re.compile(r"\w+")


def retrieval_is_weak(hits: Sequence[Hit], min_relevance: float) -> bool:
    """No passage is similar enough to the question to answer from."""
    best = max((h.dense for h in hits if h.dense is not None), default=None)
    return best is None or best < min_relevance


def says_it_does_not_know(reply: str) -> bool:
    """The model declined; only trusted for short replies (long ones may mention it in passing)."""
    return bool(_DONT_KNOW.search(reply)) and len(_WORDS.findall(reply)) <= 40


def known_part(reply: str) -> str:
    """The reply without its sentences saying the passages do not tell: what it did answer."""
    return " ".join(s for s in split_sentences(reply) if not _DONT_KNOW.search(s))


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_share(reply: str, passages: Sequence[str], n: int = 6) -> float:
    """Share of the reply's n-word runs that appear verbatim in the passages."""
    words = [w.lower() for w in _WORDS.findall(reply)]
    grams = _ngrams(words, n)
    if not grams:
        return 0.0
    source: set[tuple[str, ...]] = set()
    for passage in passages:
        source |= _ngrams([w.lower() for w in _WORDS.findall(passage)], n)
    return len(grams & source) / len(grams)


def is_echo(reply: str, passages: Sequence[str], threshold: float, min_words: int = 100) -> bool:
    """A long reply made almost entirely of text copied from the passages."""
    return len(_WORDS.findall(reply)) >= min_words and copied_share(reply, passages) >= threshold
