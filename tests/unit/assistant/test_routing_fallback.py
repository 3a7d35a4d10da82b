"""Auto routing by sensitive data, the fallback chain, profiles and keys, usage and cost."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from assistant.answering.models import Answer, Evidence
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.llms.base import Message, Price, UsageCallback, usage_summary
from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
from assistant.backends.profiles import availability, build_pool, read_key
from assistant.backends.routing import route, sensitive_kinds
from assistant.errors import BackendTimeoutError, BackendUnavailableError
from assistant.settings import ProfileSettings, Settings
from index.retriever import HybridRetriever
from tests.support.fakes import ScriptedChatModel

QUESTION = "Is self-hosting cheaper at high volumes?"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Mail the summary to jane.doe@example.com please", ["an e-mail address"]),
        ("Call me on +44 20 7946 0958 about pricing", ["a phone number"]),
        ("My card 4111 1111 1111 1111 was charged", ["a card number"]),
        ("Is sk-proj-abcdefghijklmnop1234 a valid key?", ["an API key or token"]),
        ("Pay to DE89 3704 0044 0532 0130 00 today", ["an IBAN"]),
        ("SSN 123-45-6789 on file", ["a social security number"]),
    ],
)
def test_sensitive_data_is_found(text: str, kinds: list[str]) -> None:
    assert sensitive_kinds(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Did GPT-4 cost $0.03 per 1,000 tokens in 2024?",
        "all-MiniLM-L6-v2 maps to 384 dimensions",
        "Compare Llama 3 70B and Mistral 7B for 10,000,000 requests",
    ],
)
def test_ordinary_questions_are_not_sensitive(text: str) -> None:
    assert sensitive_kinds(text) == []


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500000000000004", "378282246310005"]
)
def test_a_number_passing_luhn_is_a_card_and_only_a_card(card: str) -> None:
    # Spaced in fours it also looks like a phone number: a card is reported as a card alone.
    assert sensitive_kinds(f"My card {card} was charged") == ["a card number"]


@pytest.mark.parametrize(
    "number", ["4111 1111 1111 1112", "4111-1111-1111-1110", "1234567812345678"]
)
def test_a_number_failing_luhn_is_not_a_card(number: str) -> None:
    # Whatever else its digits may look like, the card rule asks for the Luhn check digit.
    assert "a card number" not in sensitive_kinds(f"Order {number} was shipped")


@pytest.mark.parametrize(
    "phone", ["+44 20 7946 0958", "555-867-5309", "(212) 555-0199", "+1 415.555.2671"]
)
def test_a_phone_number_is_a_phone_number(phone: str) -> None:
    assert sensitive_kinds(f"Call me on {phone} tomorrow") == ["a phone number"]


@pytest.mark.parametrize("text", ["Call extension 1234 at 555", "in 2024 we sold 1,200 units"])
def test_fewer_than_seven_digits_are_not_a_phone_number(text: str) -> None:
    assert sensitive_kinds(text) == []


def test_auto_routes_sensitive_questions_to_the_private_profile() -> None:
    kept = route("auto", "Write to bob@corp.com", [], "local", "openai")
    assert kept.backend == "local" and "e-mail address" in (kept.reason or "")
    sent = route("auto", "What is vendor lock-in?", [], "local", "openai")
    assert sent.backend == "openai" and "no sensitive data" in (sent.reason or "")
    history: list[Message] = [{"role": "user", "content": "my number is 555-867-5309 ext"}]
    assert route("auto", "and then?", history, "local", "openai").backend == "local"
    assert route("hosted", "x", [], "local", "openai").backend == "openai"
    assert route("local-small", "bob@corp.com", [], "local", "openai").backend == "local-small"


class FailingModel(ScriptedChatModel):
    """Streams `good` tokens, then fails as a hosted backend would."""

    def __init__(self, error: Exception, good: int = 0, name: str = "openai"):
        super().__init__(["Partial answer that will be voided."], name)
        self._error, self._good, self._name = error, good, name

    @property
    def backend(self) -> str:
        return self._name

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        self.calls.append(list(messages))
        yield from ["Partial ", "answer "][: self._good]
        raise self._error


def test_failure_before_the_first_token_falls_back_with_a_note(retriever: HybridRetriever) -> None:
    hosted = FailingModel(BackendUnavailableError("cannot reach openai: connection failed"))
    assistant = Assistant(retriever, fixed_chain(hosted, ScriptedChatModel()), retriever._embedder)  # type: ignore[arg-type]
    events = list(assistant.stream(QUESTION))
    assert isinstance(events[0], Evidence)  # what the documents say comes first
    events = events[1:]
    assert isinstance(events[0], Restart) and events[0].next == "fake"
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.fell_back and answer.backend == "fake"
    assert answer.note and "openai failed (cannot reach openai" in answer.note
    assert answer.citations  # the fallback's answer is cited like any other


def test_failure_mid_stream_voids_the_partial_answer(retriever: HybridRetriever) -> None:
    hosted = FailingModel(BackendTimeoutError("openai did not answer within 60 s"), good=2)
    assistant = Assistant(retriever, fixed_chain(hosted, ScriptedChatModel()), retriever._embedder)  # type: ignore[arg-type]
    events = list(assistant.stream(QUESTION))
    assert isinstance(events[0], Evidence)  # what the documents say comes first
    events = events[1:]
    assert events[:2] == ["Partial ", "answer "] and isinstance(events[2], Restart)
    answer = events[-1]
    assert isinstance(answer, Answer) and "Partial" not in answer.text
    assert answer.timings["first_token_s"] is not None  # of the answer shown, not the voided one


def test_a_backend_that_failed_is_not_asked_again_in_the_same_turn(
    retriever: HybridRetriever,
) -> None:
    hosted = FailingModel(BackendUnavailableError("down"))
    assistant = Assistant(retriever, fixed_chain(hosted, ScriptedChatModel()), retriever._embedder)  # type: ignore[arg-type]
    history: list[Message] = [
        {"role": "user", "content": "Tell me about costs"},
        {"role": "assistant", "content": "They vary."},
    ]
    answer = assistant.ask(QUESTION, history)
    assert len(hosted.calls) == 1 and answer.backend == "fake"  # condensing found it down


def test_pool_auto_keeps_questions_local_when_hosted_is_not_configured() -> None:
    local = ScriptedChatModel(model="local-model")
    choices = [
        BackendChoice("local", "Local"),
        BackendChoice("openai", "OpenAI", False, "set OPENAI_API_KEY", True),
    ]
    pool = ChatModelPool(
        choices, {"local": lambda: local}, "local", RoutingRules("local", "openai", ("local",))
    )
    plan = pool.router("auto")("What is vendor lock-in?", [])
    assert plan.chain == [local] and "openai is unavailable (set OPENAI_API_KEY)" in (
        plan.reason or ""
    )
    assert not pool.hosted_available()


def test_profiles_report_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    openai = ProfileSettings(kind="openai", model="gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    assert availability("openai", openai).reason == "not configured: set OPENAI_API_KEY"
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv-1234567890\n")
    assert availability("openai", openai).available
    key = read_key("OPENAI_API_KEY")
    assert key is not None and "sk-from" not in repr(key) and "sk-from" not in str(key)


def test_custom_profiles_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_PROFILES__VLLM__KIND", "openai")
    monkeypatch.setenv("KB_PROFILES__VLLM__MODEL", "qwen")
    monkeypatch.setenv("KB_PROFILES__VLLM__BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("KB_LLM__FALLBACK", '["local-small", "local"]')
    pool = build_pool(Settings())
    names = [c.name for c in pool.choices]
    assert names[:5] == ["local", "local-fast", "local-small", "openai", "anthropic"]
    assert "vllm" in names and "auto" in names
    assert pool.choice("vllm").available and pool.choice("vllm").hosted  # no key needed
    # named like the vLLM preset, yet the user's own openai profile: none of the preset's fields
    assert pool.choice("vllm").label == "vllm"
    assert pool.choice("hosted").name == "openai"


def test_usage_and_cost() -> None:
    from assistant.backends.llms.base import Usage

    usage = usage_summary([Usage(1000, 200), Usage(50, 10)], Price(0.15, 0.60))
    assert usage == {
        "prompt_tokens": 1050,
        "completion_tokens": 210,
        "estimated": False,
        "cost_usd": 0.000284,
    }
    assert usage_summary([Usage(10, 2)], Price())["cost_usd"] == 0  # type: ignore[index]
    assert usage_summary([Usage(10, 2)], None)["cost_usd"] is None  # type: ignore[index]
