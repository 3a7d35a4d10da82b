from collections.abc import Sequence

from assistant.answering.models import Answer
from assistant.answering.replies import DECLINED_LEAD, NOT_ANSWERED, NOT_COVERED
from assistant.backends.fallback import fixed_chain
from assistant.backends.llms.base import Message
from assistant.errors import BackendError
from index.retriever import HybridRetriever
from tests.support.fakes import ScriptedChatModel
from tests.unit.assistant.conftest import first_model, make_assistant


def test_answer_streams_then_cites_given_passages(retriever: HybridRetriever) -> None:
    assistant = make_assistant(
        retriever, ["Self-hosting is cheaper at very high volumes [1]. See [5]."]
    )
    events = list(assistant.stream("Is self-hosting cheaper at high volumes?"))
    tokens, final = [e for e in events if isinstance(e, str)], events[-1]
    assert isinstance(final, Answer) and len(tokens) > 3
    assert "[5]" not in final.text and "[1]" in final.text
    assert [c.n for c in final.citations] == [1]
    assert "cheaper" in final.citations[0].hit.chunk.text
    assert (
        final.timings["first_token_s"] is not None
        and final.timings["total_s"] >= final.timings["retrieve_s"]
    )


def test_weak_retrieval_refuses_without_calling_the_model(retriever: HybridRetriever) -> None:
    assistant = make_assistant(retriever, ["should not be used"], min_relevance=0.99)
    answer = assistant.ask("What is the weather in Paris?")
    assert answer.refused and answer.text.startswith(NOT_COVERED) and not answer.citations
    assert "nearest passages" in answer.text
    assert first_model(assistant).calls == []  # type: ignore[attr-defined]


def test_model_saying_it_does_not_know_becomes_a_refusal(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["I don't know."]).ask("Is self-hosting cheaper?")
    assert answer.refused and answer.text.startswith(NOT_ANSWERED)
    assert answer.note == "the model found no answer"
    assert [c.supports in answer.text for c in answer.citations] == [True]


def test_an_echo_is_replaced_by_a_cited_quote(retriever: HybridRetriever) -> None:
    echo = next(c.text for c in retriever.state.chunks.values() if c.source.endswith("scale.md"))
    answer = make_assistant(retriever, [echo], echo_min_words=30).ask(
        "Do per-token fees grow at high request volumes?"
    )
    assert answer.note and "echo" in answer.note
    assert answer.text.startswith("The model only repeated the passages")
    assert len(answer.citations) == 1 and answer.citations[0].supports in answer.text


def test_follow_up_is_condensed_for_retrieval(retriever: HybridRetriever) -> None:
    def script(messages: Sequence[Message]) -> str:
        if "Rewritten question" in messages[-1]["content"]:
            return "Does running models on premises keep data private?"
        return "Yes, data stays inside your infrastructure [1]."

    assistant = make_assistant(retriever, script)
    history: list[Message] = [
        {"role": "user", "content": "What about privacy?"},
        {"role": "assistant", "content": "On-prem keeps data in."},
    ]
    answer = assistant.ask("Does it keep data private?", history)
    assert answer.query == "Does running models on premises keep data private?"
    assert "premises" in answer.passages[0].chunk.text


def test_a_failed_condense_keeps_the_question(retriever: HybridRetriever) -> None:
    def script(messages: Sequence[Message]) -> str:
        if "Rewritten question" in messages[-1]["content"]:
            raise BackendError("model crashed")  # what every real backend raises
        return "Data stays on premises [1]."

    history: list[Message] = [{"role": "user", "content": "Tell me about privacy on premises."}]
    failing = make_assistant(retriever, script)

    def unhelpful(messages: Sequence[Message]) -> str:  # its rewrite resolves nothing
        if "Rewritten question" in messages[-1]["content"]:
            return "And is it safe?"
        return "Data stays on premises [1]."

    fallback = ScriptedChatModel(unhelpful, model="fallback")
    answer = failing.routed(fixed_chain(first_model(failing), fallback)).ask(
        "And is it safe?", history
    )
    assert answer.query == "Tell me about privacy on premises. And is it safe?"
    assert answer.model == "fallback"  # the failed one is not asked again in this turn
    assert answer.question == "And is it safe?"


def test_a_marker_only_reply_is_declined_with_a_cited_quote(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["[1]"]).ask("Is self-hosting cheaper at high volumes?")
    assert answer.text.startswith(DECLINED_LEAD) and answer.refused
    assert len(answer.citations) == 1 and answer.citations[0].supports in answer.text
    assert "cheaper at very high volumes" in answer.text


def test_a_reply_that_only_restates_the_question_is_declined(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["Self-hosting is cheaper at high [1]."]).ask(
        "Is self-hosting cheaper at high volumes?"
    )
    assert answer.refused and answer.note == "the model's reply added nothing to the question"


def test_naming_one_option_of_a_choice_question_is_an_answer(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["Self-hosting is cheaper [1]."]).ask(
        "At high volumes, is self-hosting or per-token API fees cheaper?"
    )
    assert not answer.refused and answer.text.startswith("Self-hosting is cheaper")


def test_a_figure_no_passage_holds_is_declined(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["It is cheaper above 4,000 requests a day [1]."]).ask(
        "When is self-hosting cheaper?"
    )
    assert answer.refused and answer.text.startswith(DECLINED_LEAD)
    assert answer.note and "4000" in answer.note
    assert "4,000" not in answer.text


def test_a_short_reply_quoting_a_passage_is_an_answer(retriever: HybridRetriever) -> None:
    quote = "Self-hosting open models is cheaper at very high volumes than per-token API fees."
    answer = make_assistant(retriever, [quote]).ask("When is self-hosting cheaper?")
    assert not answer.refused and answer.note is None
    assert answer.text.startswith("Self-hosting open models is cheaper")
    assert [c.n for c in answer.citations] == [1]


def test_a_rewrite_that_resolves_nothing_falls_back_to_the_last_question(
    retriever: HybridRetriever,
) -> None:
    def script(messages: Sequence[Message]) -> str:
        if "Rewritten question" in messages[-1]["content"]:
            return "How long did they spend on it?"
        return "Three months [1]."

    history: list[Message] = [{"role": "user", "content": "Tell me about privacy on premises."}]
    answer = make_assistant(retriever, script).ask("How long did they spend on it?", history)
    assert answer.query == "Tell me about privacy on premises. How long did they spend on it?"


def test_a_reply_answering_one_part_and_saying_another_is_missing_is_shown(
    retriever: HybridRetriever,
) -> None:
    reply = (
        "Self-hosting open models is cheaper at very high volumes [1]. "
        "The passages do not say how long the hardware lasts."
    )
    answer = make_assistant(retriever, [reply]).ask(
        "Is self-hosting cheaper at high volumes, and how long does the hardware last?"
    )
    assert not answer.refused and "cheaper at very high volumes" in answer.text
    assert "do not say how long" in answer.text
    only_missing = make_assistant(retriever, ["The passages do not say."]).ask(
        "How long does the hardware last at high volumes?"
    )
    assert only_missing.refused
