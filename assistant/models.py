"""Domain values of answering: a citation and an answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.models import Hit


@dataclass(frozen=True)
class Citation:
    """Passage number `n` (as given to the model), the answer sentence it supports, and the
    passage sentence (`evidence`) that supports it."""

    n: int
    hit: Hit
    supports: str = ""
    evidence: str = ""

    def as_dict(self) -> dict[str, object]:
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
class Answer:
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

    def as_dict(self) -> dict[str, object]:
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
