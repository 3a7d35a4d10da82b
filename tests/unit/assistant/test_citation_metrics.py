"""citation_precision and citation_recall of `kb eval`: unlike citation_ok, they fall below 1
when kb cites a passage without the gold snippet, or cites no such passage at all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from assistant.backends.llms.base import Message
from assistant.evaluation import citation_metrics, evaluate
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_assistant

COSTS = "cheaper at very high volumes than per-token API fees"
PRIVACY = "keeps sensitive data inside your own infrastructure"
SCALE = "per-token fees keep growing with every request"

# question -> the passage word the scripted reply quotes and cites (None: a reply citing nothing)
CITES = {
    "Is self-hosting cheaper at very high volumes?": "cheaper",
    "Does running on premises keep sensitive data inside?": "owning",  # the wrong passage
    "Do per-token fees keep growing with every request?": None,
}
GOLD = {
    "Is self-hosting cheaper at very high volumes?": COSTS,
    "Does running on premises keep sensitive data inside?": PRIVACY,
    "Do per-token fees keep growing with every request?": SCALE,
}


def _quote_and_cite(messages: Sequence[Message]) -> str:
    """Quote the first sentence of the passage holding the word CITES names, citing its number."""
    prompt = messages[-1]["content"]
    word = next((w for q, w in CITES.items() if q in prompt), None)
    for match in re.finditer(r"^\[(\d+)\] (.+)$", prompt, re.MULTILINE):
        if word and word in match.group(2):
            sentence = re.split(r"(?<=[.!?])\s", match.group(2), maxsplit=1)[0]
            return f"{sentence} [{match.group(1)}]"
    return "Plain words without a source."


def _question(text: str) -> dict[str, Any]:
    return {"id": text[:12], "question": text, "type": "fact", "gold_snippets": [GOLD[text]]}


def _evaluate(retriever: HybridRetriever, questions: list[dict[str, Any]]) -> dict[str, Any]:
    assistant = make_assistant(retriever, _quote_and_cite, min_relevance=0.05)
    return evaluate(retriever, assistant, questions)


def test_citing_the_gold_passage_scores_one(retriever: HybridRetriever) -> None:
    metrics = _evaluate(retriever, [_question("Is self-hosting cheaper at very high volumes?")])
    assert metrics["citation_precision"] == 1.0 and metrics["citation_recall"] == 1.0
    row = metrics["per_question"][0]
    assert row["cited_passages"] == row["cited_gold"] and len(row["cited_gold"]) == 1


def test_a_wrong_citation_and_a_missing_one_fall_below_one(retriever: HybridRetriever) -> None:
    unanswerable = {"id": "u", "question": "What is the capital of Peru?", "type": "unanswerable"}
    metrics = _evaluate(retriever, [*(_question(q) for q in CITES), unanswerable])
    rows = {row["id"]: row for row in metrics["per_question"]}
    right, wrong, uncited = (rows[q[:12]] for q in CITES)
    assert len(right["cited_gold"]) == 1
    assert wrong["cited_passages"] and wrong["cited_gold"] == []
    assert uncited["cited_passages"] == [] and not uncited["refused"]
    assert "cited_gold" not in rows["u"]  # unanswerable questions are left out
    # precision: 1 gold of 2 cited passages (the uncited answer adds none); recall: 1 of 3
    assert metrics["citation_precision"] == 0.5 and metrics["citation_recall"] == 0.3333
    assert metrics["citation_ok"] == 1.0  # the old metric cannot tell


def test_a_refused_answer_is_left_out(retriever: HybridRetriever) -> None:
    assistant = make_assistant(retriever, ["I don't know."], min_relevance=0.05)
    question = _question("Is self-hosting cheaper at very high volumes?")
    metrics = evaluate(retriever, assistant, [question])
    row = metrics["per_question"][0]
    assert row["refused"] and row["citations"]  # kb cites the sentence it quotes instead
    assert "cited_gold" not in row and metrics["citation_recall"] is None


@pytest.mark.parametrize(
    ("cited", "gold", "expected"),
    [
        ([2, 1], [1, 1], (0.6667, 1.0)),  # micro: 2 gold of 3 cited passages
        ([1, 0], [0, 0], (0.0, 0.0)),  # no citations: a recall miss, no precision
        ([0], [0], (None, 0.0)),
        ([], [], (None, None)),  # nothing scored (--no-answers)
    ],
)
def test_citation_metrics_by_hand(
    cited: list[int], gold: list[int], expected: tuple[float | None, float | None]
) -> None:
    metrics = citation_metrics(cited, gold)
    assert (metrics["citation_precision"], metrics["citation_recall"]) == expected
