"""The context budget: what of each retrieved passage the model is shown.

A 0.5B model loses the answer in four 300-token passages, and every prompt token costs time
on a CPU. Each passage is cut to its sentences most relevant to the question (`relevance`),
kept in document order, up to a word budget. Citations still name the whole passage. Measured
on eval/tune.jsonl it lost answers (docs/benchmarks.md), so the default budget is 0: off.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from assistant.attribution import split_sentences
from assistant.grounding import relevance, word_count
from index.embedders import Embedder
from index.models import Hit

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


def focused_passages(
    query: str, hits: Sequence[Hit], embedder: Embedder, budget_words: int
) -> list[str]:
    """Each hit's text cut to `budget_words` of its most relevant sentences (0: whole text)."""
    texts = [" ".join(h.chunk.text.split()) for h in hits]
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
