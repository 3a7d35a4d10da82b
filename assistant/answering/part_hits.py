"""Passages for a compound question: the whole question's hits and each part's, merged by
reciprocal rank fusion, with at least one passage kept for every part.

A comparison's weaker side would otherwise lose its passages to the stronger one's: the whole
question's ranking favours whichever side its words lean to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.answering.parts import question_parts
from index.models import Hit
from index.retriever import reciprocal_rank_fusion

RRF_K = 60


@dataclass(frozen=True)
class PartHits:
    """The passages for a question, and for each of its parts the chunk ids of its own
    passages among them, in the part's own order (best first)."""

    hits: list[Hit]
    by_part: tuple[tuple[int, ...], ...] = field(default=())


def _best_copy(lists: Sequence[Sequence[Hit]]) -> dict[int, Hit]:
    """Each chunk's hit from the list where it is most similar to the query."""
    best: dict[int, Hit] = {}
    for hits in lists:
        for hit in hits:
            known = best.get(hit.chunk.id)
            if known is None or (hit.dense or 0.0) > (known.dense or 0.0):
                best[hit.chunk.id] = hit
    return best


def _with_each_part(chosen: list[int], parts: Sequence[Sequence[Hit]]) -> list[int]:
    """`chosen` with each part's best chunk in it: one that has none in it takes the place of
    the lowest-ranked chunk no part needs."""
    needed: list[int] = []
    for hits in parts:
        if hits and hits[0].chunk.id not in chosen:
            needed.append(hits[0].chunk.id)
    protected = {hits[0].chunk.id for hits in parts if hits}
    for chunk in needed:
        spare = [c for c in reversed(chosen) if c not in protected]
        if spare:
            chosen[chosen.index(spare[0])] = chunk
        else:
            chosen.append(chunk)
    return chosen


def hits_for_parts(
    retrieve: Callable[[str, int], list[Hit]], query: str, parts: Sequence[str], top_k: int
) -> PartHits:
    """The `top_k` passages for `query` and its `parts` (none: the query's own hits)."""
    whole = retrieve(query, top_k)
    if not parts:
        return PartHits(whole)
    per_part = [retrieve(part, top_k) for part in parts]
    lists = [whole, *per_part]
    fused = reciprocal_rank_fusion([[h.chunk.id for h in hits] for hits in lists], RRF_K)
    chosen = _with_each_part([chunk for chunk, _ in fused[:top_k]], per_part)
    best = _best_copy(lists)
    rank = {chunk: i for i, (chunk, _) in enumerate(fused)}
    by_part = tuple(tuple(h.chunk.id for h in hits if h.chunk.id in chosen) for hits in per_part)
    return PartHits([best[c] for c in sorted(chosen, key=rank.__getitem__)], by_part)


def hits_for_question(
    retrieve: Callable[[str, int], list[Hit]], query: str, top_k: int
) -> list[Hit]:
    """The `top_k` passages for `query`, retrieved part by part when it is compound."""
    return hits_for_parts(retrieve, query, question_parts(query).parts, top_k).hits
