"""The context: which retrieved passages the model is shown, and what of each.

Passages far less similar to the question than the best one are left out, and text a passage
shares with one before it (neighbouring chunks overlap) is given once: every prompt token costs
time on a CPU. Then the optional budget:

A 0.5B model loses the answer in four 300-token passages, and every prompt token costs time
on a CPU. Each passage is cut to its sentences most relevant to the question (`relevance`),
kept in document order, up to a word budget. Citations still name the whole passage. Measured
on eval/tune.jsonl it lost answers (docs/benchmarks.md), so the default budget is 0: off.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from assistant.guards.grounding import relevance, word_count
from index.embedders import Embedder
from index.models import Hit
from ingest.sentences import split_sentences

GAP = " … "


def _keep(sentences: list[str], scores: np.ndarray, budget: int) -> list[int]:
    """Indices of the best-scoring sentences that fit in `budget` words (the best one always)."""
    kept: list[int] = []
    used = 0
    for i in np.argsort(-scores):
        cost = word_count(sentences[i])
        if kept and used + cost > budget:
            continue
        kept.append(int(i))
        used += cost
    return sorted(kept)


def _joined(sentences: list[str], kept: list[int]) -> str:
    parts = [sentences[kept[0]]]
    for before, index in itertools.pairwise(kept):
        parts.append((" " if index == before + 1 else GAP) + sentences[index])
    return "".join(parts)


def close_hits(hits: Sequence[Hit], margin: float) -> list[Hit]:
    """The hits whose cosine similarity is within `margin` of the best one's."""
    best = max((h.dense for h in hits if h.dense is not None), default=None)
    if best is None:
        return list(hits)
    return [h for h in hits if h.dense is None or h.dense >= best - margin]


def _uncovered(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of [start, end) outside every covered span."""
    parts = [(start, end)]
    for a, b in covered:
        parts = [
            piece
            for s, e in parts
            for piece in ((s, min(e, a)), (max(s, b), e))
            if piece[0] < piece[1]
        ]
    return parts


def without_repeats(hits: Sequence[Hit]) -> list[str]:
    """Each hit's text less what an earlier hit of the same document already gave."""
    covered: dict[str, list[tuple[int, int]]] = {}
    texts = []
    for hit in hits:
        chunk = hit.chunk
        spans = covered.setdefault(chunk.source, [])
        parts = _uncovered(chunk.start, chunk.end, spans)
        spans.append((chunk.start, chunk.end))
        pieces = [chunk.text[s - chunk.start : e - chunk.start] for s, e in parts]
        texts.append(GAP.join(" ".join(p.split()) for p in pieces if p.strip()) or GAP.strip())
    return texts


def focused_passages(
    query: str, hits: Sequence[Hit], embedder: Embedder, budget_words: int, once_only: bool = False
) -> list[str]:
    """Each hit's text (less repeats with `once_only`), cut to `budget_words` of its most
    relevant sentences (0: whole text)."""
    texts = without_repeats(hits) if once_only else [" ".join(h.chunk.text.split()) for h in hits]
    if budget_words <= 0:
        return texts
    split = [split_sentences(t) or [t] for t in texts]
    flat = [s for sentences in split for s in sentences]
    if not flat:
        return texts
    scores = relevance(query, flat, embedder)
    out, start = [], 0
    for text, sentences in zip(texts, split, strict=True):
        own = scores[start : start + len(sentences)]
        start += len(sentences)
        fits = word_count(text) <= budget_words
        out.append(text if fits else _joined(sentences, _keep(sentences, own, budget_words)))
    return out
