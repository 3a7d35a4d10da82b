"""The context: which retrieved passages the model is shown whole.

Passages far less similar to the question than the best one are left out, and text a passage
shares with one before it (neighbouring chunks overlap) is given once: every prompt token costs
time on a CPU. Choosing sentences within passages is `assistant.answering.selection`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.models import Hit

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
