"""Privacy routing against a recording OpenAI-compatible server on loopback (issue 16, item 1):
the request bodies it received hold no local-only passage, no question or conversation with
personal data, and nothing after a local model failed. The local model is SmolLM2 through
llama-cpp-python, or a GGUF that is missing (a real local failure)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.answering.models import AnswerOptions
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import fixed_chain
from assistant.backends.llms.base import ChatModel, Message
from assistant.backends.llms.hosted import HostedConfig, OpenAICompatibleChatModel
from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
from assistant.errors import BackendError
from harness.http_servers import Script, serve
from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.discovery import LOCAL_ONLY_MARKER
from tests.support.fakes import HashingEmbedder

pytestmark = pytest.mark.integration

DOCS = {
    "costs.md": "# Costs\n\nSelf-hosting open models is cheaper at very high volumes than fees.\n",
    "contacts.md": "# Contacts\n\nSalary review questions go to jane.doe@example.com by mail.\n",
    "hr/salaries.md": "# Salaries\n\nThe salary band for senior engineers is reviewed each April.\n",
}


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Script]]:
    monkeypatch.chdir(tmp_path)
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text)
    (tmp_path / "docs" / "hr" / LOCAL_ONLY_MARKER).write_text("")
    ingest_paths([Path("docs")], IndexConfig(Path("index")), HashingEmbedder())
    script = Script(chunks=["From the passages ", "[1]."])
    with serve(script) as url:
        yield url, script


def _assistant(url: str, local: ChatModel, requested: str) -> Assistant:
    config = HostedConfig("openai", "m", url, SecretStr("sk-test-0123456789abcdef"), "K", 5.0, 0)
    hosted = OpenAICompatibleChatModel(config)
    pool = ChatModelPool(
        [BackendChoice("local", "Local"), BackendChoice("openai", "OpenAI", hosted=True)],
        {"local": lambda: local, "openai": lambda: hosted},
        "local",
        RoutingRules("local", "openai", ("local", "openai")),
    )
    embedder = HashingEmbedder()
    retriever = HybridRetriever(load_index(Path("index")), embedder)
    options = AnswerOptions(min_relevance=0.0, top_k=1, max_tokens=24)
    return Assistant(retriever, fixed_chain(local), embedder, options).routed(
        pool.router(requested)
    )


def _bodies(script: Script) -> str:
    return json.dumps(script.requests)


def test_ordinary_passages_reach_the_recording_server(
    recorded: tuple[str, Script], small_local: ChatModel
) -> None:
    url, script = recorded
    _assistant(url, small_local, "auto").ask("Is self-hosting cheaper at very high volumes?")
    assert "cheaper at very high volumes" in _bodies(script)  # the recorder sees what is sent


@pytest.mark.parametrize("requested", ["auto", "openai"])
def test_local_only_passages_are_never_sent(
    recorded: tuple[str, Script], small_local: ChatModel, requested: str
) -> None:
    url, script = recorded
    answer = _assistant(url, small_local, requested).ask("When is the salary band reviewed?")
    assert script.requests == []
    if requested == "openai":  # asked for by name: refused before any model is asked
        assert answer.refused and answer.timings["first_token_s"] is None
    else:  # kept on the local model (whatever it then writes, kb may still decline it)
        assert answer.route and "local-only documents" in answer.route


def test_personal_data_in_passages_or_conversation_is_never_sent(
    recorded: tuple[str, Script], small_local: ChatModel
) -> None:
    url, script = recorded
    assistant = _assistant(url, small_local, "auto")
    assistant.ask("Who takes salary review questions?")  # the passage holds an e-mail address
    history: list[Message] = [
        {"role": "user", "content": "Who runs the cost review?"},
        {"role": "assistant", "content": "Call Sam on +44 20 7946 0958 about it."},
    ]
    assistant.ask("Is self-hosting cheaper then?", history)  # the reply held a phone number
    assert script.requests == []


def test_nothing_is_sent_after_a_local_failure(recorded: tuple[str, Script]) -> None:
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

    url, script = recorded
    missing = LlamaCppChatModel(Path("no-such-model.gguf"), "missing")
    with pytest.raises(BackendError, match="model file not found"):
        _assistant(url, missing, "local").ask("When is the salary band reviewed?")
    with pytest.raises(BackendError):
        _assistant(url, missing, "auto").ask("Who takes salary review questions?")
    assert script.requests == []
