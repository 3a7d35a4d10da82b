"""What the model reads: which retrieved passages it is shown whole (`close_hits`,
`focused_passages`: passages far less similar than the best one left out, text a passage shares
with the one before it given once), or which of their sentences (`selected_passages`).

Sentence selection, question-aware across the retrieved passages:

The model is asked to quote the one to three sentences that answer the question, yet whole
passages make a long prompt, and on a CPU the first token waits for all of it. So the prompt
can hold only the passages' best sentences: every sentence is scored as the evidence is
(`assistant.answering.evidence`: cosine, BM25, the kind of answer asked for, new words, passage
rank), and the best ones are taken across all passages, each with its neighbours (an answer
often spans two sentences, or a list follows its intro), until a word budget is spent. A
passage keeps its number, so the model's [n] and kb's citations still name the whole retrieved
passage; a passage with nothing selected is left out. Each kept passage is labelled with its
document's title and section.

Selection runs only when `AnswerOptions.context_words` sets a budget, and none is set by
default: it cut the prompt but lost answers on the tune set (docs/benchmarks.md, "What the
model reads").

What this module does not do: choose which passages are retrieved, or cite.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from assistant.answering.evidence import (
    EvidenceWeights,
    _Candidate,
    _Pool,
    _scores,
    is_statement,
    passage_sentences,
)
from assistant.answering.prompting import SelectedPassage
from assistant.guards.grounding import word_count
from index.embedders import Embedder
from index.models import Hit

Flat = list[tuple[int, int, str]]  # (passage index, sentence index in it, sentence)


def _flat_sentences(hits: Sequence[Hit]) -> Flat:
    """(passage index, sentence index in that passage, sentence) for every passage sentence."""
    return [
        (p, i, sentence)
        for p, hit in enumerate(hits)
        for i, sentence in enumerate(passage_sentences(hit.chunk.text))
    ]


def _seed_scores(query: str, flat: Flat, embedder: Embedder) -> np.ndarray:
    """Each sentence's evidence score; sentences that cannot hold an answer (headings, short
    title lines) only come in as a neighbour."""
    weights = EvidenceWeights()
    texts = [s for _, _, s in flat]
    candidates = [_Candidate(p + 1, (k,), s) for k, (p, _, s) in enumerate(flat)]
    pool = _Pool((), candidates, embedder.embed(texts))
    scores = _scores(query, pool, embedder, weights)
    statements = np.array([is_statement(s, weights.min_words) for s in texts])
    return np.where(statements, scores, -np.inf)


def _with_neighbours(k: int, flat: Flat, reach: int) -> list[int]:
    """Sentence `k` and up to `reach` neighbours each side, within its own passage."""
    passage = flat[k][0]
    span = range(max(0, k - reach), min(len(flat), k + reach + 1))
    return [j for j in span if flat[j][0] == passage]


def _select(query: str, flat: Flat, embedder: Embedder, budget_words: int, reach: int) -> set[int]:
    """Indexes into `flat`: the best-scoring sentences with their neighbours, best first, while
    the words fit in `budget_words` (the best one always). Taking the best sentences alone
    first and their neighbours after kept no more gold on the tune set (docs/benchmarks.md)."""
    if not flat:
        return set()
    scores = _seed_scores(query, flat, embedder)
    kept: set[int] = set()
    used = 0
    for k in np.argsort(-scores):
        if not np.isfinite(scores[k]):
            break
        new = [j for j in _with_neighbours(int(k), flat, reach) if j not in kept]
        cost = sum(word_count(flat[j][2]) for j in new)
        if kept and used + cost > budget_words:
            continue
        kept.update(new)
        used += cost
    return kept


def title_and_section(hit: Hit) -> str:
    """The document's title and section, where the model's sentences come from. Unlike
    `prompting.passage_label` (what users are shown) it leaves out the page and a heading that
    only repeats the title: every prompt token costs time."""
    title = hit.chunk.title or hit.chunk.source.rsplit("/", 1)[-1]
    section = " > ".join(h for h in hit.chunk.heading_path if h != title)
    return f"{title} — {section}" if section else title


def selected_passages(
    query: str, hits: Sequence[Hit], embedder: Embedder, budget_words: int, reach: int = 1
) -> list[SelectedPassage]:
    """The passages that keep at least one sentence, in retrieval order, numbered as among
    `hits`."""
    flat = _flat_sentences(hits)
    kept = sorted(_select(query, flat, embedder, budget_words, reach))
    out = []
    for p, hit in enumerate(hits):
        mine = [k for k in kept if flat[k][0] == p]
        if not mine:
            continue
        parts = [flat[mine[0]][2]]
        for before, k in itertools.pairwise(mine):
            parts.append((" " if flat[k][1] == flat[before][1] + 1 else GAP) + flat[k][2])
        out.append(SelectedPassage(p + 1, title_and_section(hit), "".join(parts)))
    return out


GAP = " … "


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


def focused_passages(hits: Sequence[Hit], once_only: bool = False) -> list[str]:
    """Each hit's whole text, whitespace collapsed (less repeats with `once_only`)."""
    return without_repeats(hits) if once_only else [" ".join(h.chunk.text.split()) for h in hits]
