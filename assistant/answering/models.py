"""Domain values of answering: the options it runs with, a citation, evidence, an answer, and
the stream of events that leads to it.

`Assistant.stream` yields the `Evidence`, reply text, a `Restart` when a backend failed and the
next starts over, then the final `Answer`; `AnswerStream` keeps that final `Answer` and fails
when the stream ended without it, the part every caller shares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from assistant.answering.prompting import passage_label
from assistant.backends.fallback import Restart
from assistant.backends.llms.base import UsageSummary
from assistant.errors import IncompleteAnswerError
from assistant.settings import AnswerSettings, LlmSettings
from index.models import Hit


class CitationJson(TypedDict):
    """A citation in `kb ask --json` (EVAL.md): the passage, and the sentences it links."""

    n: int
    source: str
    text: str
    title: str | None
    location: str | None
    start: int
    end: int
    score: float
    supports: str
    evidence: str


class EvidenceJson(TypedDict):
    """One evidence quote in `kb ask --json`."""

    n: int
    source: str
    title: str | None
    location: str | None
    quote: str


class PassageJson(TypedDict):
    """One passage the model was given, in `kb ask --json`."""

    n: int
    source: str
    title: str | None
    location: str | None
    score: float
    similarity: float | None


class AnswerJson(TypedDict):
    """The `kb ask --json` object: EVAL.md's fields, then kb's own."""

    question: str
    answer: str
    citations: list[CitationJson]
    backend: str
    model: str
    timings: dict[str, float | None]
    query: str
    refused: bool
    note: str | None
    route: str | None
    usage: UsageSummary | None
    fell_back: bool
    evidence: list[EvidenceJson]
    passages: list[PassageJson]
    server: str | None


@dataclass(frozen=True)
class Citation:
    """Passage number `n` (as given to the model), the answer sentence it supports, and the
    passage sentence (`evidence`) that supports it."""

    n: int
    hit: Hit
    supports: str = ""
    evidence: str = ""

    def as_dict(self) -> CitationJson:
        """This citation as `kb ask --json` shows it."""
        chunk = self.hit.chunk
        return {
            "n": self.n,
            "source": chunk.source,
            "text": chunk.text,
            "title": chunk.title,
            "location": chunk.location,
            "start": chunk.start,
            "end": chunk.end,
            "score": round(self.hit.score, 6),
            "supports": self.supports,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Evidence:
    """The passage sentences that best answer the question, shown before the model's reply."""

    quotes: tuple[Citation, ...]
    seconds: float  # from the question to the evidence

    def labelled(self) -> list[tuple[int, str, str]]:
        """(n, quote, where it comes from) per quote: what every frontend shows."""
        return [(q.n, q.evidence, passage_label(q.hit)) for q in self.quotes]

    def as_dicts(self) -> list[EvidenceJson]:
        """The quotes as `kb ask --json` shows them."""
        return [
            {
                "n": q.n,
                "source": q.hit.chunk.source,
                "title": q.hit.chunk.title,
                "location": q.hit.chunk.location,
                "quote": q.evidence,
            }
            for q in self.quotes
        ]


@dataclass(frozen=True)
class Answer:
    """A cited answer (or a refusal) with everything kb knows about how it was made."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    backend: str
    model: str
    timings: dict[str, float | None] = field(default_factory=dict)
    query: str = ""
    refused: bool = False
    note: str | None = None
    route: str | None = None  # why `auto` chose this backend
    usage: UsageSummary | None = None
    fell_back: bool = False  # a backend failed and another one answered
    evidence: Evidence | None = None  # shown first; None when retrieval found nothing close
    evidence_in_text: bool = False  # the text itself is the evidence (the reply was not shown)
    server: str | None = None  # which server of a pooled profile answered (URL, redacted)

    @property
    def evidence_above(self) -> Evidence | None:
        """The evidence to show above the text, unless the text already quotes it."""
        return None if self.evidence_in_text else self.evidence

    def as_dict(self) -> AnswerJson:
        """The `kb ask --json` object (EVAL.md), plus extra fields."""
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.as_dict() for c in self.citations],
            "backend": self.backend,
            "model": self.model,
            "timings": self.timings,
            "query": self.query,
            "refused": self.refused,
            "note": self.note,
            "route": self.route,
            "usage": self.usage,
            "fell_back": self.fell_back,
            "evidence": self.evidence.as_dicts() if self.evidence else [],
            "server": self.server,
            "passages": [
                {
                    "n": n,
                    "source": h.chunk.source,
                    "title": h.chunk.title,
                    "location": h.chunk.location,
                    "score": round(h.score, 6),
                    "similarity": None if h.dense is None else round(h.dense, 4),
                }
                for n, h in enumerate(self.passages, start=1)
            ],
        }


_ANSWER, _LLM = AnswerSettings(), LlmSettings()

ATTRIBUTION_THRESHOLD = 0.45  # cosine similarity a sentence needs to cite a passage
ECHO_THRESHOLD = 0.8  # share of a reply's 6-word runs copied from passages that makes an echo
ECHO_MIN_WORDS = 100  # shorter replies are never echoes: quoting passages is fine
# Passages whose similarity is this far below the best one's are not given to the model; 1: all.
DROP_BELOW = 1.0
# Words of passage sentences the model reads, chosen by the question; 0: whole passages
# (docs/benchmarks.md: a budget cut prompts but lost answers).
CONTEXT_WORDS = 0


@dataclass(frozen=True)
class AnswerOptions:
    """Passages, thresholds and reply length for answering."""

    top_k: int = _ANSWER.top_k
    min_relevance: float = _ANSWER.min_relevance
    max_tokens: int = _LLM.max_tokens
    temperature: float = _LLM.temperature
    attribution_threshold: float = ATTRIBUTION_THRESHOLD
    echo_threshold: float = ECHO_THRESHOLD
    echo_min_words: int = ECHO_MIN_WORDS
    context_words: int = CONTEXT_WORDS
    drop_below: float = DROP_BELOW
    once_only: bool = False  # text neighbouring chunks share is given once


AnswerEvent = str | Evidence | Restart | Answer


class AnswerStream:
    """Iterates an answer's events up to its final `Answer`, which `answer()` returns."""

    def __init__(self, events: Iterable[AnswerEvent]):
        self._events = iter(events)
        self._final: Answer | None = None

    def __iter__(self) -> Iterator[str | Evidence | Restart]:
        for event in self._events:
            if isinstance(event, Answer):
                self._final = event
            else:
                yield event

    def answer(self) -> Answer:
        """The final `Answer`, after walking whatever events are left unread."""
        for _ in self:
            pass
        if self._final is None:
            raise IncompleteAnswerError()
        return self._final
