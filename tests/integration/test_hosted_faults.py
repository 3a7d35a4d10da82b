"""Every way a hosted backend fails ends in a fallback to the real local SmolLM2, with a
message saying what happened and which backend answered, and the key nowhere in the logs.

The failing endpoint is a scripted OpenAI-compatible server on loopback
(`harness/http_servers.py`); the fallback is a real GGUF through llama-cpp-python.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.llms.hosted import HostedConfig, OpenAICompatibleChatModel
from assistant.backends.profiles import SMOLLM2_ID
from harness.http_servers import Script, serve
from index.embedders import SentenceTransformerEmbedder
from index.retriever import HybridRetriever

pytestmark = pytest.mark.integration

KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
QUESTION = "Can hosting my own open model end up cheaper than paying for a proprietary API?"


def hosted(url: str, timeout_s: float = 5.0, retries: int = 1) -> OpenAICompatibleChatModel:
    config = HostedConfig(
        "vllm", "served-model", url, SecretStr(KEY), "KB_TEST_KEY", timeout_s, retries
    )
    return OpenAICompatibleChatModel(config)


def _ask(
    model: OpenAICompatibleChatModel,
    fallback: object,
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
) -> list[object]:
    assistant = Assistant(retriever, fixed_chain(model, fallback), embedder)  # type: ignore[list-item]
    return list(assistant.stream(QUESTION))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def loud_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # everything, the SDK's and httpx's debug lines included
    yield caplog


FAULTS = [
    pytest.param(Script(status=429), {}, "answered HTTP 429 after 1 retries", 2, id="429"),
    pytest.param(Script(status=500), {}, "answered HTTP 500 after 1 retries", 2, id="500"),
    pytest.param(Script(status=503), {}, "answered HTTP 503 after 1 retries", 2, id="503"),
    pytest.param(
        Script(status=401), {}, "rejected the API key (HTTP 401); check KB_TEST_KEY", 1, id="401"
    ),
    pytest.param(
        Script(hang_s=4),
        {"timeout_s": 1.0, "retries": 0},
        "did not answer within 1 s",
        1,
        id="never-answers",
    ),
    pytest.param(Script(cut_after=2), {"retries": 0}, "failed mid-answer", 1, id="cut-mid-stream"),
]


@pytest.mark.parametrize(("script", "options", "message", "requests"), FAULTS)
def test_fault_falls_back_to_local_with_a_message(
    script: Script,
    options: dict[str, float],
    message: str,
    requests: int,
    small_local: object,
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
    loud_logs: pytest.LogCaptureFixture,
) -> None:
    with serve(script) as url:
        events = _ask(hosted(url, **options), small_local, retriever, embedder)  # type: ignore[arg-type]
    restarts = [e for e in events if isinstance(e, Restart)]
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert len(restarts) == 1 and message in restarts[0].reason
    assert restarts[0].failed == "vllm" and restarts[0].next == "local-small"
    assert answer.fell_back and answer.model == SMOLLM2_ID and message in (answer.note or "")
    assert len(script.requests) == requests  # retried (with backoff) only when worth it
    assert script.headers[0]["authorization"] == f"Bearer {KEY}"  # the key was sent...
    assert KEY not in loud_logs.text and KEY not in repr(events)  # ...and never shown
    assert "falling back to local-small" in loud_logs.text
    if script.cut_after:
        before = [e for e in events[: events.index(restarts[0])] if isinstance(e, str)]
        assert "".join(before).startswith("Self-hosting is")  # streamed, then voided


def test_server_not_running_falls_back(
    small_local: object,
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
    loud_logs: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    events = _ask(hosted(url, retries=0), small_local, retriever, embedder)
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.fell_back
    assert "cannot reach vllm" in (answer.note or "") and answer.model == SMOLLM2_ID
    assert KEY not in loud_logs.text


def test_when_every_backend_fails_the_error_reaches_the_caller(
    retriever: HybridRetriever, embedder: SentenceTransformerEmbedder
) -> None:
    from assistant.errors import BackendError

    with serve(Script(status=500)) as url:
        assistant = Assistant(retriever, fixed_chain(hosted(url, retries=0)), embedder)
        with pytest.raises(BackendError, match="HTTP 500") as failed:
            assistant.ask(QUESTION)
    assert KEY not in str(failed.value)
