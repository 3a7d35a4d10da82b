from collections.abc import Sequence

from assistant.llms.base import Message
from assistant.models import Answer
from assistant.pipeline import NOT_COVERED
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_assistant


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
    assert assistant.chat_model.calls == []  # type: ignore[attr-defined]


def test_model_saying_it_does_not_know_becomes_a_refusal(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["I don't know."]).ask("Is self-hosting cheaper?")
    assert answer.refused and "not" in answer.text and answer.citations == ()


def test_an_echo_is_replaced_by_a_cited_quote(retriever: HybridRetriever) -> None:
    echo = next(c.text for c in retriever.state.chunks.values() if c.source.endswith("scale.md"))
    answer = make_assistant(retriever, [echo]).ask(
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
            raise RuntimeError("model crashed")
        return "Data stays on premises [1]."

    history: list[Message] = [{"role": "user", "content": "Tell me about privacy on premises."}]
    answer = make_assistant(retriever, script).ask("And is it safe?", history)
    assert answer.query == "Tell me about privacy on premises. And is it safe?"
    assert answer.question == "And is it safe?"


def test_a_marker_only_reply_is_replaced_by_a_cited_quote(retriever: HybridRetriever) -> None:
    answer = make_assistant(retriever, ["[1]"]).ask("Is self-hosting cheaper at high volumes?")
    assert answer.text.startswith("The model gave no answer of its own") and not answer.refused
    assert len(answer.citations) == 1 and answer.citations[0].supports in answer.text
