"""Compound questions: the parts found by rules, the passages kept for each part, a quote per
part, and the prompt that names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.evidence import choose_evidence_for_parts
from assistant.answering.part_hits import hits_for_parts
from assistant.answering.parts import question_parts
from assistant.answering.replies import SWAPPED_LEAD
from index.models import Chunk, Hit
from index.retriever import HybridRetriever
from tests.support.fakes import HashingEmbedder
from tests.unit.assistant.conftest import first_model, indexed_retriever, make_assistant


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("How do the costs of Postgres and MySQL compare?", ("Postgres", "MySQL")),
        ("Which is faster overall, rail or air travel?", ("rail travel", "air travel")),
        (
            "How do public and private schools differ on class sizes?",
            ("public schools", "private schools"),
        ),
        ("How does a bank and a hospital each store records?", ("a bank", "a hospital")),
        ("How transparent is Rust compared with C?", ("Rust", "C")),
        ("Tabs vs spaces: which is better?", ("Tabs", "spaces")),
    ],
)
def test_the_two_sides_of_a_comparison(question: str, sides: tuple[str, str]) -> None:
    parts = question_parts(question)
    assert parts.kind == "compare" and parts.sides == sides
    assert len(parts.parts) == 2
    for side, part in zip(sides, parts.parts, strict=True):
        other = sides[1] if side == sides[0] else sides[0]
        assert side in part and other not in part.replace(side, "")


def test_two_questions_in_one_each_stand_alone() -> None:
    parts = question_parts("When can Acme end the licence, and what must I do afterwards?")
    assert parts.kind == "questions"
    assert parts.parts == (
        "When can Acme end the licence?",
        "what must I do afterwards? (Acme end licence)",
    )


def test_two_question_marks_make_two_parts() -> None:
    parts = question_parts("Is Postgres free? What does MySQL cost?")
    assert parts.parts == ("Is Postgres free?", "What does MySQL cost?")


def test_statements_before_the_question_go_with_every_part() -> None:
    parts = question_parts("I run a clinic. Is hosting allowed, and who pays for support?")
    assert all(p.startswith("I run a clinic. ") for p in parts.parts) and len(parts.parts) == 2


@pytest.mark.parametrize(
    "question",
    [
        "What are the pros and cons of self-hosting?",  # one subject, no comparing word
        "What models are free and can be fine-tuned?",  # "and can be": not a second question
        "Which licences does the open vs closed source overview call truly open?",  # a title
        "How many users may a Llama 2 service have?",
        "Is self-hosting cheaper at high volumes? Thanks in advance",  # not a second question
    ],
)
def test_a_simple_question_has_no_parts(question: str) -> None:
    assert question_parts(question).parts == ()


def _hit(n: int, text: str, dense: float = 0.5) -> Hit:
    return Hit(Chunk(n, f"d{n}.md", None, (), None, 0, len(text), text), 1.0, dense, None)


def test_each_part_keeps_its_best_passage_even_when_the_whole_question_ranks_it_low() -> None:
    ranked = {
        "whole": [_hit(1, "a"), _hit(2, "b"), _hit(3, "c"), _hit(4, "d")],
        "left": [_hit(1, "a"), _hit(2, "b"), _hit(3, "c")],
        "right": [_hit(9, "z", 0.7), _hit(2, "b")],
    }
    found = hits_for_parts(lambda q, k: ranked[q][:k], "whole", ["left", "right"], 3)
    ids = [h.chunk.id for h in found.hits]
    assert len(ids) == 3 and 9 in ids and ids[:2] == [2, 1]  # 2 is in all three lists
    assert found.by_part == ((1, 2), (9, 2))  # each part's own passages, in its own order
    plain = hits_for_parts(lambda q, k: ranked[q][:k], "whole", [], 3)
    assert plain.hits == ranked["whole"][:3] and plain.by_part == ()


def test_evidence_holds_a_quote_for_each_part() -> None:
    hits = [
        _hit(0, "Postgres costs nothing to license and runs anywhere you like."),
        _hit(1, "MySQL enterprise editions cost a yearly fee per server instance."),
    ]
    quotes = choose_evidence_for_parts(
        "How do Postgres and MySQL costs compare?",
        question_parts("How do Postgres and MySQL costs compare?"),
        hits,
        HashingEmbedder(64),
    )
    assert [q.n for q in quotes] == [1, 2]


SIDES_DOCS = {
    "open.md": "# Open models\n\nOpen models are free to download and run on your own servers.\n",
    "closed.md": "# Proprietary models\n\nProprietary models charge licensing fees for every API call.\n",
    "privacy.md": "# Privacy\n\nRunning models on premises keeps sensitive data inside your walls.\n",
}
COMPARE = "How do the costs of open and proprietary models compare?"


@pytest.fixture
def sides_retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    return indexed_retriever(tmp_path, SIDES_DOCS)


def test_a_comparison_is_asked_part_by_part_with_evidence_for_each_side(
    sides_retriever: HybridRetriever,
) -> None:
    replies = ["Open models are free to download [1].", "Proprietary models charge fees [2]."]
    assistant = make_assistant(sides_retriever, replies)
    answer = assistant.ask(COMPARE)
    prompts = [call[-1]["content"] for call in first_model(assistant).calls]  # type: ignore[attr-defined]
    assert len(prompts) == 2
    assert prompts[0].rstrip().endswith("How do the costs of open models compare?")
    assert prompts[1].rstrip().endswith("How do the costs of proprietary models compare?")
    numbers = {h.chunk.source: n for n, h in enumerate(answer.passages, start=1)}
    assert f"[{numbers['docs/closed.md']}] # Proprietary models Proprietary" in prompts[1]
    assert answer.text.startswith("Open models are free to download")
    assert "Proprietary models charge fees" in answer.text and not answer.refused
    assert answer.evidence is not None
    quoted = " ".join(q.evidence for q in answer.evidence.quotes)
    assert "free to download" in quoted and "licensing fees" in quoted


def test_a_part_without_an_answer_says_so_and_the_other_keeps_its_answer(
    sides_retriever: HybridRetriever,
) -> None:
    replies = ["Open models are free to download [1].", "I don't know."]
    answer = make_assistant(sides_retriever, replies).ask(COMPARE)
    assert answer.text.startswith("Open models are free to download") and not answer.refused
    assert answer.text.endswith(
        "do not clearly answer this part: How do the costs of proprietary models compare?"
    )
    nothing = make_assistant(sides_retriever, ["I don't know."]).ask(COMPARE)
    assert nothing.refused and nothing.note == "the model found no answer"


@pytest.mark.parametrize(
    ("reply", "swapped"),
    [
        ("Open models charge licensing fees for every API call [2].", True),
        ("Proprietary models charge licensing fees for every API call [2].", False),
        ("Open models are free to download and run on your own servers [1].", False),
    ],
)
def test_a_reply_giving_one_side_the_others_facts_shows_the_evidence_instead(
    sides_retriever: HybridRetriever, reply: str, swapped: bool
) -> None:
    answer = make_assistant(sides_retriever, [reply]).ask(COMPARE)
    assert answer.text.startswith(SWAPPED_LEAD) is swapped
    assert not answer.refused
    if swapped:
        assert "licensing fees" in answer.text and "free to download" in answer.text


def test_a_part_reply_that_restates_its_question_counts_as_no_answer(
    sides_retriever: HybridRetriever,
) -> None:
    replies = ["Open models compare on costs [1].", "Proprietary models charge fees [2]."]
    answer = make_assistant(sides_retriever, replies).ask(COMPARE)
    assert answer.text.startswith(
        "The documents do not clearly answer this part: How do the costs of open models compare? "
    )
    assert "Proprietary models charge fees" in answer.text


def test_a_part_without_an_answer_cites_nothing() -> None:
    from assistant.answering.replies import without_gap_citations

    text = "The documents do not clearly answer this part: Which is better, X [1]? Y is free [2]."
    assert without_gap_citations(text) == (
        "The documents do not clearly answer this part: Which is better, X? Y is free [2]."
    )
