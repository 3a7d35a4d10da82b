"""The real embedder over the real corpus: the dev set's answers are found."""

import json

import numpy as np
import pytest

from assistant.evaluation import first_hit_rank, retrieval_query
from index.retriever import HybridRetriever
from tests.conftest import DEV_SET

pytestmark = pytest.mark.integration


def test_dev_set_passages_are_in_the_top_5_for_90_percent(retriever: HybridRetriever) -> None:
    questions = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    answerable = [q for q in questions if q["type"] != "unanswerable"]
    ranks = [
        first_hit_rank(
            [h.chunk.text for h in retriever.retrieve(retrieval_query(q), 5)], q["gold_snippets"]
        )
        for q in answerable
    ]
    assert len(answerable) >= 30
    assert sum(r is not None for r in ranks) / len(ranks) >= 0.9


def test_stored_vectors_match_a_fresh_embedding(retriever: HybridRetriever) -> None:
    chunk = next(iter(retriever.state.chunks.values()))
    stored = retriever.state.store.vectors([chunk.id])[0]
    assert np.isclose(np.linalg.norm(stored), 1.0, atol=1e-4)
    hit = retriever.retrieve(chunk.text, 1)[0]
    assert hit.chunk.id == chunk.id and hit.dense is not None and hit.dense > 0.8


def test_seed_000_is_searchable_with_its_repaired_text(retriever: HybridRetriever) -> None:
    hits = retriever.retrieve("Cons of open source LLMs: security and compliance burden", 5)
    seed = [h for h in hits if h.chunk.source.endswith("000_f78ef12f1b6dd304.txt")]
    assert seed and all("‚úÖ" not in h.chunk.text for h in seed)
