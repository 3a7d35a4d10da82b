"""What the model reads: the best sentences across passages, with neighbours, within a word
budget, each passage under its own number, title and section."""

from __future__ import annotations

from assistant.answering.prompting import answer_messages
from assistant.answering.selection import GAP, selected_passages, title_and_section
from index.models import Hit
from ingest.models import Chunk
from tests.support.fakes import HashingEmbedder

FILLER = "The weather in the valley was mild that spring and nobody minded it at all."
ANSWER = "The Llama 2 licence limits services with more than 700 million monthly users."
QUESTION = "How many monthly users may a Llama 2 service have under its licence?"


def _hit(n: int, *sentences: str, title: str = "Doc", section: tuple[str, ...] = ()) -> Hit:
    text = " ".join(sentences)
    return Hit(Chunk(n, f"doc{n}.md", title, section, None, 0, len(text), text), 1.0, 0.5, None)


def test_the_answer_sentence_is_kept_under_its_own_passage_number() -> None:
    hits = [_hit(1, *[FILLER] * 6), _hit(2, FILLER, FILLER, ANSWER, FILLER, FILLER)]
    chosen = selected_passages(QUESTION, hits, HashingEmbedder(), 40)
    by_number = {p.n: p.text for p in chosen}
    assert ANSWER in by_number[2]
    assert sum(len(p.text.split()) for p in chosen) <= 40 + 15  # within the budget (one seed over)


def test_the_answer_keeps_its_neighbours_and_gaps_are_marked() -> None:
    intro = "Two licences matter here."
    after = "Mistral released its 7B model under Apache 2.0."
    hit = _hit(1, intro, FILLER, FILLER, ANSWER, after, FILLER, FILLER, FILLER)
    [passage] = selected_passages(QUESTION, [hit], HashingEmbedder(), 60)
    assert f"{FILLER} {ANSWER} {after}" in passage.text  # a sentence either side
    assert passage.text.count(FILLER) < 5 and (GAP in passage.text or intro not in passage.text)


def test_a_passage_with_nothing_kept_is_left_out_and_numbers_still_map() -> None:
    hits = [_hit(1, ANSWER), _hit(2, *[FILLER] * 8), _hit(3, ANSWER.replace("700", "900"))]
    chosen = selected_passages(QUESTION, hits, HashingEmbedder(), 30)
    assert [p.n for p in chosen] == [1, 3]
    prompt = answer_messages(QUESTION, chosen)[1]["content"]
    assert "[1] (Doc)" in prompt and "[3] (Doc)" in prompt and "[2]" not in prompt


def test_a_large_budget_keeps_every_sentence_in_order() -> None:
    sentences = [FILLER, ANSWER, "Mistral released its 7B model under Apache 2.0."]
    [passage] = selected_passages(QUESTION, [_hit(1, *sentences)], HashingEmbedder(), 500)
    assert passage.text == " ".join(sentences)


def test_the_label_names_title_and_section() -> None:
    assert title_and_section(_hit(1, ANSWER, title="Licences", section=("Licences", "Llama"))) == (
        "Licences — Llama"
    )
    assert title_and_section(_hit(1, ANSWER, title="Licences")) == "Licences"
