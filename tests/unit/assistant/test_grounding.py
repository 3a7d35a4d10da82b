from assistant.guards.grounding import (
    adds_nothing,
    picks_an_option,
    unsupported_numbers,
)
from index.retriever import HybridRetriever
from tests.support.fakes import HashingEmbedder


def test_figures_must_come_from_the_question_or_a_passage() -> None:
    passages = ["Free below 700M monthly users.", "Trained for 100k steps at batch 1,024."]
    assert unsupported_numbers("Up to 700M users [2].", "How many users?", passages) == []
    assert unsupported_numbers("Batch 1024, 100k steps.", "Batch size?", passages) == []
    assert unsupported_numbers(
        "Llama 3 came out in 2024 [1].", "When was Llama 3 out?", passages
    ) == ["2024"]
    assert unsupported_numbers("It scores 0.0 [1].", "Score?", passages) == ["0.0"]


def test_a_reply_adds_nothing_when_it_only_has_the_questions_words() -> None:
    assert adds_nothing("Llama 3 was released on [1].", "When was Llama 3 released?")
    assert adds_nothing("[1] [2]", "Anything?")
    assert not adds_nothing("It was released in April [1].", "When was Llama 3 released?")


def test_naming_one_option_of_a_choice_question_is_an_answer() -> None:
    question = "Are Llama weights open or closed?"
    assert adds_nothing("Open [1].", question) and picks_an_option("Open [1].", question)
    assert not picks_an_option("[1]", question)
    assert not picks_an_option("Open [1].", "Are Llama weights open?")


def test_the_evidence_is_the_sentence_holding_the_question_words(
    retriever: HybridRetriever,
) -> None:
    from assistant.answering.evidence import choose_evidence

    question = "Where does sensitive data stay when models run on premises?"
    hits = retriever.retrieve(question, 3)
    quotes = choose_evidence(question, hits, HashingEmbedder())
    assert quotes and "inside your own infrastructure" in quotes[0].evidence
    assert hits[quotes[0].n - 1].chunk.source.endswith("privacy.md")


def test_names_no_passage_mentions_are_found() -> None:
    from assistant.guards.grounding import unmentioned_names

    passages = ["Anthropic's Claude is proprietary.", "Apache License, Version 2.0, and APIs."]
    assert unmentioned_names("How much does Claude Pro cost?", passages) == ["Claude Pro"]
    assert unmentioned_names("What does MTEB measure? Reply briefly.", passages) == ["MTEB"]
    assert unmentioned_names("Is Apache 2.0 cheaper than the API of Claude?", passages) == []


def test_a_question_about_an_unmentioned_name_is_refused_before_the_model(
    retriever: HybridRetriever,
) -> None:
    from tests.unit.assistant.conftest import make_assistant

    answer = make_assistant(retriever, ["Llama 3 costs nothing [1]."]).ask(
        "Is self-hosting Mixtral cheaper at high volumes?"
    )
    assert answer.refused and answer.note == "no passage mentions Mixtral"
    assert answer.usage is None  # the model was never asked
