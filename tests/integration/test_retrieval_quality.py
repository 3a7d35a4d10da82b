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


def test_no_page_furniture_is_indexed(retriever: HybridRetriever) -> None:
    texts = " ".join(c.text for c in retriever.state.chunks.values())
    for furniture in ("$0.79/hr", "Image created by author", "NVIDIA-powered cloud GPUs"):
        assert furniture not in texts
    assert "Vendor lock-in Long-term projects risk becoming dependent" in texts  # prose kept


def test_a_comparison_gets_passages_and_a_quote_for_each_side(
    retriever: HybridRetriever,
) -> None:
    from assistant.answering.evidence import choose_evidence_for_parts
    from assistant.answering.part_hits import hits_for_parts
    from assistant.answering.parts import question_parts, side_marks, sides_named

    question = "How do open-source and proprietary LLMs compare on security?"
    parts = question_parts(question)
    assert parts.kind == "compare" and len(parts.parts) == 2
    hits = hits_for_parts(retriever.retrieve, question, parts.parts, 4).hits
    marks = side_marks(parts.sides)
    named = {i for h in hits for i in sides_named(h.chunk.text, marks)}
    assert named == {0, 1}
    quotes = choose_evidence_for_parts(question, parts, hits, retriever.embedder)
    assert len(quotes) == 2 and quotes[0].evidence != quotes[1].evidence
