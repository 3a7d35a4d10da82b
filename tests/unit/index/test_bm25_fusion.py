import math

import pytest

from index.bm25 import Bm25Index
from index.retriever import reciprocal_rank_fusion


def test_bm25_matches_a_hand_computed_score() -> None:
    # Lucene BM25 (bm25s default): k1=1.5, b=0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
    # term weight idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)) (no (k1 + 1) factor, as Lucene 8+).
    docs = ["llama weights released openly", "proprietary api pricing", "llama llama fine tuning"]
    index = Bm25Index([10, 20, 30], docs)
    avgdl = (4 + 3 + 4) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))

    def score(tf: int, length: int) -> float:
        return idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * length / avgdl))

    results = dict(index.search("llama", 3))
    assert set(results) == {10, 30}
    assert results[30] == pytest.approx(score(2, 4), rel=1e-5)
    assert results[10] == pytest.approx(score(1, 4), rel=1e-5)


def test_bm25_stems_words() -> None:
    index = Bm25Index([1, 2], ["the licence grants licenses", "hosting costs money"])
    assert [i for i, _ in index.search("licensing", 2)] == [1]


def test_bm25_stopword_only_query_finds_nothing() -> None:
    assert Bm25Index([1], ["some text"]).search("the and of", 5) == []


def test_rrf_adds_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [i for i, _ in reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)] == [1, 3, 2]
