"""The parts of a compound question, found by rules: the two sides of a comparison, or the
questions joined into one ("When can Google end the terms, and what must I do then?").

Each part is a standalone question, used to retrieve passages for that part, to name the parts
in the prompt and to quote evidence for each. A simple question has no parts. What this module
does not do: ask a model (rules split a question without a model call), or split a list
question, whose items the question cannot name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PARTS = 3

# A comparison is asked with one of these; without one, "X and Y" is a plain subject
# ("What are the pros and cons?").
_COMPARING = re.compile(
    r"\b(compare[sd]?|comparison|compared|differ|differs|difference|differences|versus|vs\.?"
    r"|better|worse|each|both|between|common|rate|than|choose|pick|go with|should i)\b"
    r"|\bwhich\b[^?]*\bor\b",  # a choice: "Which is cheaper, X or Y?"
    re.IGNORECASE,
)
_SIDES = re.compile(r"\s(and|or|vs\.?|versus)\s", re.IGNORECASE)
# Words that end a side: where its verb, preposition or question word begins.
_LEFT_END = frozenset(
    [
        "how",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "what",
        "which",
        "who",
        "why",
        "when",
        "where",
        "whose",
        "between",
        "of",
        "on",
        "in",
        "for",
        "about",
        "to",
        "with",
        "from",
        "compare",
        "compared",
        "both",
        "would",
        "should",
        "could",
        "can",
        "will",
        "go",
        "like",
    ]
)
_RIGHT_END = frozenset(
    [
        "compare",
        "compared",
        "differ",
        "differs",
        "each",
        "rate",
        "rated",
        "have",
        "has",
        "require",
        "requires",
        "in",
        "on",
        "for",
        "when",
        "with",
        "regarding",
        "about",
        "to",
        "than",
        "is",
        "are",
        "do",
        "does",
        "choose",
        "tend",
        "perform",
        "according",
        "say",
        "says",
    ]
)
_DETERMINERS = frozenset({"a", "an", "the"})
# Two-word ways to set one side against the other, read as "vs".
_AGAINST = re.compile(r"\b(compared (with|to)|differs? from|different from|as opposed to)\b", re.I)
# "the open vs closed source overview" names a document: it asks about one, compares nothing.
_DOCUMENT = frozenset(
    ["overview", "article", "page", "table", "faq", "post", "guide", "section", "report", "paper"]
)
_BOTH_EACH = frozenset({"both", "each"})
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "how",
        "when",
        "where",
        "why",
        "whose",
        "can",
        "could",
        "should",
        "would",
        "will",
        "must",
        "i",
        "you",
        "it",
        "they",
        "we",
        "to",
        "of",
        "in",
        "on",
        "for",
        "and",
        "or",
        "with",
        "my",
        "your",
    ]
)
# A second question: a question word, "if", or a verb asking about a subject ("do I", "is it").
_ASKS = (
    r"(?:what|how|which|when|where|who|whom|whose|why|if"
    r"|(?:do|does|did|is|are|can|could|should|would|will|must)\s+"
    r"(?:i|you|it|they|we|he|she|this|that|there|the|a|an|my|our|your|its|their)\b)"
)
_SECOND_QUESTION = re.compile(rf"(?:,\s*|;\s*|\s)and\s+(?={_ASKS})|\?\s+(?={_ASKS})", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!])\s+(?=[A-Z])")
_NAME = re.compile(r"\b[A-Z][\w.-]*[\w]|\b\w+-\w[\w-]*")


@dataclass(frozen=True)
class Parts:
    """A question's parts: `kind` is "compare" or "questions"; `parts` the standalone
    questions (two or three), or `()` for a simple question."""

    kind: str = "simple"
    parts: tuple[str, ...] = ()
    sides: tuple[str, ...] = ()  # the compared things, for a comparison


def _preamble(question: str) -> tuple[str, str]:
    """Statements before the question ("The repo asks me to accept a licence.") and the
    question itself: each part needs the statements to stand alone."""
    sentences = _SENTENCE.split(question.strip())
    return " ".join(sentences[:-1]), sentences[-1]


def _names(text: str) -> str:
    """The names in a question (capitalised or hyphenated words, not its first word): what a
    later part refers back to with "it"."""
    words = text.split(maxsplit=1)
    found = _NAME.findall(words[1]) if len(words) > 1 else []
    return " ".join(dict.fromkeys(found))


def _topic(text: str) -> str:
    """What a later part is about when it says "it" or "afterwards": the first part's content
    words (its names among them)."""
    words = [w.strip("?,.") for w in text.split()]
    return " ".join(w for w in words if w.lower() not in _STOPWORDS)


def _questions(question: str) -> tuple[str, ...]:
    """The questions joined in one, each made to stand alone; () when there is one."""
    pieces = [p.strip(" ,;?") for p in _SECOND_QUESTION.split(question) if p.strip(" ,;?")]
    if len(pieces) < 2:
        return ()
    topic = _topic(pieces[0])
    later = [f"{p}? ({topic})" if topic and not _names(p) else f"{p}?" for p in pieces[1:]]
    return (f"{pieces[0]}?", *later)[:MAX_PARTS]


def _side_span(words: list[str], at: int) -> tuple[int, int] | None:
    """The first and last word index of the two sides around the coordinator `words[at]`."""
    start = at
    while start > 0 and words[start - 1].lower().strip(",") not in _LEFT_END:
        start -= 1
        if words[start - 1].endswith(","):
            break
    end = at
    while end + 1 < len(words):
        word = words[end + 1].lower().strip("?,.")
        if word in _RIGHT_END or (end > at and word in _DETERMINERS):
            break
        end += 1
        if words[end].endswith(("?", ",", ".", ":")):
            break
    return (start, end) if start < at < end else None


def _shared_head(left: list[str], right: list[str]) -> list[str]:
    """`left` with the noun it shares with `right` ("open and closed models": open models)."""
    bare_left = [w for w in left if w.lower() not in _DETERMINERS]
    bare_right = [w for w in right if w.lower() not in _DETERMINERS]
    if len(bare_left) == 1 and len(bare_right) == 2 and bare_left[0].islower():
        return [*left, bare_right[-1]]
    return left


def _comparison(question: str) -> Parts | None:
    """The two sides of "X and Y" / "X or Y" / "X vs Y" in a question that compares."""
    question = _AGAINST.sub("vs", question)
    if not _COMPARING.search(question):
        return None
    words = question.split()
    coordinators = [i for i, w in enumerate(words) if _SIDES.fullmatch(f" {w} ")]
    # "a hospital and a bank each choose": the side followed by "each" is the one compared.
    coordinators.sort(key=lambda i: not any(w.lower() == "each" for w in words[i : i + 8]))
    for at in coordinators:
        span = _side_span(words, at)
        if span is None:
            continue
        start, end = span
        left, right = words[start:at], [w.strip("?,.:") for w in words[at + 1 : end + 1]]
        if any(w.lower() in _DOCUMENT for w in right):
            continue
        tail = "".join(c for c in words[end] if c in "?,.:")
        sides = (" ".join(_shared_head(left, right)), " ".join(right))
        before = [w for w in words[:start] if w.lower() not in _BOTH_EACH]
        after = [w for w in words[end + 1 :] if w.lower() not in _BOTH_EACH]
        parts = tuple(" ".join([*before, side + tail, *after]) for side in sides)
        return Parts("compare", parts, sides)
    return None


def question_parts(question: str) -> Parts:
    """The parts of `question` by rules: two questions in one, else a comparison's sides."""
    preamble, asked = _preamble(question)
    found = _questions(asked)
    parts = Parts("questions", found) if found else _comparison(asked)
    if parts is None:
        return Parts()
    if preamble:
        parts = Parts(parts.kind, tuple(f"{preamble} {p}" for p in parts.parts), parts.sides)
    return parts


_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SIDE_FILLER = frozenset({"a", "an", "the", "one", "ones"})


def _side_words(text: str) -> set[str]:
    """Lower-case words, hyphenated ones also in their pieces ("open-source": open, source)."""
    lower = text.lower()
    return set(_WORD.findall(lower.replace("-", " "))) | set(_WORD.findall(lower))


def side_marks(sides: Sequence[str]) -> list[set[str]]:
    """The words that tell each side apart: its words less those the sides share ("open-source
    LLMs" and "proprietary LLMs": {open-source, open, source} and {proprietary})."""
    words = [_side_words(side) - _SIDE_FILLER for side in sides]
    shared = set.intersection(*words) if words else set()
    return [w - shared for w in words]


def names_side(text: str, mark: set[str]) -> bool:
    """Whether `text` names the side marked by `mark`: all of its marking words when it has
    few, else two of them."""
    hits = len(_side_words(text) & mark)
    return bool(mark) and (hits == len(mark) or hits >= 2)


def sides_named(text: str, marks: Sequence[set[str]]) -> list[int]:
    """The sides `text` names, by index."""
    return [i for i, mark in enumerate(marks) if names_side(text, mark)]
