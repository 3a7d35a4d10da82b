"""Evidence first: which passage sentences are quoted before the model's reply, and the
evidence_ok metric over them (shown below 1 where the evidence misses a term)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.answering.evidence import answer_type_bonus, bm25_scores, choose_evidence
from assistant.answering.models import Evidence
from assistant.evaluation import _score_evidence, _Tally
from index.models import Chunk, Hit
from tests.support.fakes import HashingEmbedder

PASSAGE = (
    "Open models can be run on your own hardware. "
    "The Llama 2 licence limits services with more than 700 million monthly users. "
    "Mistral released its 7B model under Apache 2.0."
)


def _hit(text: str, n: int = 0) -> Hit:
    chunk = Chunk(n, f"doc{n}.md", "Doc", ("Doc",), None, 0, len(text), text)
    return Hit(chunk, 1.0, 0.5, None)


def test_bm25_over_sentences_matches_a_hand_computed_case() -> None:
    scores = bm25_scores("licence", ["the licence terms", "other words here", "more text"])
    # idf = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)); one word of average length: tf part = 1
    assert np.isclose(scores[0], np.log(1 + 2.5 / 1.5)) and scores[1] == scores[2] == 0


def test_the_answer_type_a_question_asks_for() -> None:
    assert answer_type_bonus("How many monthly users may a Llama 2 service have?", "700 million")
    assert not answer_type_bonus("How many users?", "Very many users.")
    assert answer_type_bonus("Which company released Mistral 7B?", "Mistral AI released it.")
    assert answer_type_bonus("What are the risks?", "Cost, lock-in, and privacy.")


def test_the_sentence_holding_the_asked_for_number_is_quoted_first() -> None:
    quotes = choose_evidence(
        "How many monthly users can a Llama 2 service have?", [_hit(PASSAGE)], HashingEmbedder()
    )
    assert quotes and "700 million" in quotes[0].evidence and quotes[0].n == 1


def test_a_two_part_question_gets_a_second_quote_for_the_other_part() -> None:
    hits = [
        _hit("Mistral released its 7B model under Apache 2.0 terms.", 1),
        _hit("The Llama 2 licence limits services with many monthly users.", 2),
    ]
    quotes = choose_evidence(
        "Which licence covers Mistral 7B and which limits Llama 2?", hits, HashingEmbedder()
    )
    assert {q.n for q in quotes} == {1, 2}


def test_evidence_ok_fails_when_a_term_is_missing_from_the_quotes() -> None:
    quotes = choose_evidence("How many users?", [_hit(PASSAGE)], HashingEmbedder())
    evidence = Evidence(quotes, 0.01)
    tally = _Tally()
    held = {"answer_must": ["700 million"]}
    missed = {"answer_must": ["700 million", "Gemma"]}  # no passage names Gemma
    assert _score_evidence(evidence, held, tally) is True
    assert _score_evidence(evidence, missed, tally) is False
    assert _score_evidence(None, held, tally) is False
    assert tally.evidence_ok == [True, False, False]


def test_an_image_in_a_quoted_passage_is_shown_inert(tmp_path: Path) -> None:
    from assistant.answering.pipeline import Assistant
    from assistant.backends.fallback import fixed_chain
    from index.builder import ingest_paths
    from index.config import IndexConfig
    from index.retriever import HybridRetriever
    from index.storage import load_index
    from tests.support.fakes import ScriptedChatModel

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "costs.md").write_text(
        "# Costs\n\nSelf-hosting is cheaper at volume ![chart](http://evil.example/x.png) here.\n"
    )
    embedder = HashingEmbedder()
    ingest_paths([tmp_path / "docs"], IndexConfig(tmp_path / "index"), embedder)
    retriever = HybridRetriever(load_index(tmp_path / "index"), embedder)
    assistant = Assistant(retriever, fixed_chain(ScriptedChatModel()), embedder)
    events = list(assistant.stream("Is self-hosting cheaper at volume?"))
    evidence = next(e for e in events if isinstance(e, Evidence))
    assert evidence.quotes and "cheaper at volume" in evidence.quotes[0].evidence
    assert "![" not in evidence.quotes[0].evidence and "evil.example" in evidence.quotes[0].evidence


def test_a_list_question_quotes_the_intro_and_its_items_as_one() -> None:
    from assistant.answering.evidence import with_lists_joined

    sentences = [
        "Most teams use a hybrid approach:",
        "1. Closed APIs for prototyping.",
        "2. Open models for private data.",
        "Then they measure.",
        "- A stray item.",
    ]
    assert with_lists_joined(sentences) == [
        "Most teams use a hybrid approach: 1. Closed APIs for prototyping. 2. Open models for private data.",
        "Then they measure.",
        "- A stray item.",  # no intro: left alone
    ]
    passage = "Most teams use a hybrid approach:\n1. Closed APIs for prototyping work.\n2. Open models for private data work.\n"
    quotes = choose_evidence(
        "What are the parts of the hybrid approach?", [_hit(passage)], HashingEmbedder(64)
    )
    assert "1. Closed APIs" in quotes[0].evidence and "2. Open models" in quotes[0].evidence
    fact = choose_evidence("Who uses a hybrid approach?", [_hit(passage)], HashingEmbedder(64))
    assert all("1. Closed" not in q.evidence or "2. Open" not in q.evidence for q in fact)
