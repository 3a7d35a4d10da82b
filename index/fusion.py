"""Fusing dense and lexical candidates into one ranking.

kb fuses by score (`weighted_fusion`): on the tuning questions it ranked gold passages higher
than reciprocal-rank fusion, which throws away how far ahead the best cosine is
(docs/benchmarks.md, retrieval levers). RRF stays as the measured alternative.
"""

from __future__ import annotations

from collections.abc import Mapping


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def weighted_fusion(
    cosines: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float
) -> list[tuple[int, float]]:
    """score = w · cosine + (1 − w) · BM25 / this query's best BM25 (0 when not a BM25 hit).

    Scaling BM25 by the query's best score puts it on the cosine's 0..1 range without
    corpus statistics; every id in `cosines` is ranked."""
    best = max(lexical.values(), default=0.0) or 1.0
    scores = {
        i: dense_weight * cos + (1.0 - dense_weight) * lexical.get(i, 0.0) / best
        for i, cos in cosines.items()
    }
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
