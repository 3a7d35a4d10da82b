"""Checks that a reply says something the passages back, and the quote kb shows when it does not.

A small local model, asked something the documents do not answer, tends to make an answer up:
a figure ("0.0 on the benchmark"), or the question turned into a statement with nothing after
it ("Llama 3 was released on ."). Such replies are not shown as answers: kb says the documents
do not clearly answer the question and shows the evidence instead (`assistant.answering.evidence`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.guards.attribution import content_words, strip_markers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CHOICE = re.compile(r"\bor\b", re.IGNORECASE)


def word_count(text: str) -> int:
    """The number of words in `text`."""
    return len(re.findall(r"\w+", text))


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(strip_markers(text))}


def unsupported_numbers(reply: str, question: str, passages: Sequence[str]) -> list[str]:
    """Figures in the reply that appear neither in the question nor in any passage."""
    known = _numbers(question).union(*(_numbers(p) for p in passages))
    return sorted(_numbers(reply) - known)


def _word_runs(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def repeats_instructions(
    reply: str, instructions: str, passages: Sequence[str], run: int = 10
) -> bool:
    """The reply holds `run` consecutive words of the system prompt that no passage holds: it
    is reciting its prompt (a document asked it to), not answering. Ten words, because a normal
    reply may open with a shorter run ("the sentences from the passages that answer...")."""
    recited = _word_runs(strip_markers(reply), run) & _word_runs(instructions, run)
    return bool(recited - set().union(*(_word_runs(p, run) for p in passages)))


def adds_nothing(reply: str, question: str) -> bool:
    """The reply only repeats the question's own words (or has no words at all)."""
    return not (content_words(strip_markers(reply)) - content_words(question))


def picks_an_option(reply: str, question: str) -> bool:
    """An "A or B?" question is answered with words of the question: naming one is an answer."""
    return bool(_CHOICE.search(question)) and bool(content_words(strip_markers(reply)))


# Names a question asks about: a capitalised word not opening a sentence (Gemma, Claude Pro),
# an acronym (MTEB), or a name holding a digit (Llama 3, MiniLM-L6-v2, Apache-2.0).
_NAME = re.compile(
    r"(?<![\w-])(?:[A-Z][\w.-]*\d[\w.-]*|[A-Za-z]+-\d[\w.-]*|[A-Z]{2,}[\w-]*"
    r"|(?<!^)(?<![.?!:]\s)(?<!\n)[A-Z][a-z]+(?:[- ][A-Z0-9][\w.-]*)*)(?![\w])"
)
_NAME_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")


def _name_words(text: str) -> set[str]:
    """Lower-case words holding a letter, a plural's final s dropped (APIs, API). Bare numbers
    are left out: a licence says "Version 2.0" once, at its top, and the question's
    "Apache-2.0" is still about it."""
    words = _NAME_WORD.findall(text.lower())
    return {w.rstrip("s") or w for w in words if any(c.isalpha() for c in w)}


def unmentioned_names(question: str, passages: Sequence[str]) -> list[str]:
    """Names in the question that no passage mentions (every word of the name, anywhere in the
    passages): the documents cannot answer about them, and a small model fills the gap from its
    own knowledge or from a near-topic passage."""
    present = _name_words(" ".join(passages))
    return [name for name in _NAME.findall(question.strip()) if not _name_words(name) <= present]
