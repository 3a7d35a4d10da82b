"""`/metrics` on the page's real server on loopback while the page's `/ask` handler and the
OpenAI-compatible API answer over a small index (hashing embedder, scripted model): the scrape over HTTP counts each
question by backend and outcome, the stage latencies and the ingest, and holds no secret."""

import dataclasses
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.backends.llms.base import Message
from assistant.backends.pool import RoutingRules
from assistant.errors import BackendUnavailableError
from assistant.frontends.web import events
from assistant.frontends.web.busy import BusyGate
from assistant.frontends.web.page import build_web_ui
from assistant.frontends.web.server import launch
from harness.http_servers import free_port
from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
from tests.support.fakes import HashingEmbedder, quote_first_passage
from tests.unit.assistant.conftest import DOCS, make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"
SECRET = "sk-test-metrics-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def script(messages: Sequence[Message]) -> str:
    """Quotes passage [1]; a question saying "decline" gets a bare marker, which kb refuses."""
    return "[1]" if "decline" in messages[-1]["content"] else quote_first_passage(messages)


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> events.PageParts:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    (tmp_path / "docs").mkdir()
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).write_text(text)
    embedder = HashingEmbedder()
    ingest_paths([Path("docs")], IndexConfig(Path("index")), embedder)
    retriever = HybridRetriever(load_index(Path("index")), embedder)
    page = make_page_parts(retriever, tmp_path / "uploads", script)
    return dataclasses.replace(page, gate=BusyGate(1))


@pytest.fixture
def metrics_url(parts: events.PageParts) -> Iterator[str]:
    """The page's real server (page, API and `/metrics` on one port) over `parts`."""
    port = free_port()
    server = launch(build_web_ui(parts), parts, "127.0.0.1", port, block=False)
    assert server is not None
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.close()


def api(metrics_url: str) -> openai.OpenAI:
    root = metrics_url.removesuffix("/metrics")
    return openai.OpenAI(base_url=f"{root}/v1", api_key="unused", max_retries=0)


def scrape(url: str) -> tuple[str, Samples]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_scrape_counts_the_questions_asked_through_the_page(
    parts: events.PageParts, metrics_url: str, tmp_path: Path
) -> None:
    _, before = scrape(metrics_url)  # kb's registry is per process: compare with the start
    assert events.ask_api(parts, QUESTION)["refused"] is False
    assert events.ask_api(parts, QUESTION, backend="fake-2")["refused"] is False
    assert events.ask_api(parts, f"{QUESTION} decline")["refused"] is True
    message = {"role": "user", "content": QUESTION}
    assert api(metrics_url).chat.completions.create(model="kb-fake", messages=[message])
    _fall_back_once(parts)
    with parts.gate.admit():  # the page is full: the next questions are answered "busy"
        assert events.ask_api(parts, QUESTION)["busy"] is True
        assert events.ask_api(parts, QUESTION, backend=SECRET)["busy"] is True
        with pytest.raises(openai.RateLimitError):
            api(metrics_url).chat.completions.create(model="kb-fake", messages=[message])
    (tmp_path / "docs" / "new.md").write_text("# New\n\nA new page about GPUs.\n")
    parts.session.library.sync([tmp_path / "docs"])
    text, after = scrape(metrics_url)

    q = "kb_questions_total"
    assert delta(before, after, q, backend="fake", outcome="answered") == 3  # fake-2 is "fake" too
    assert delta(before, after, q, backend="fake", outcome="refused") == 1
    assert delta(before, after, q, backend="fake", outcome="fell_back") == 1
    assert delta(before, after, q, backend="fake", outcome="busy") == 2  # /ask and the API
    assert delta(before, after, q, backend="other", outcome="busy") == 1  # not the caller's text
    for stage, answers in (("retrieve", 5), ("first_token", 5), ("total", 5)):
        assert (
            delta(before, after, "kb_answer_seconds_count", backend="fake", stage=stage) == answers
        )
    assert delta(before, after, "kb_tokens_total", backend="fake", kind="completion") > 0
    assert delta(before, after, "kb_ingest_files_total", change="added") == 1
    assert delta(before, after, "kb_ingest_files_total", change="unchanged") == len(DOCS)
    assert after["kb_index_chunks", ()] >= len(DOCS) + 1
    assert SECRET not in text and "sk-test" not in text


def _fall_back_once(parts: events.PageParts) -> None:
    """fake-2 fails; the question is answered again by fake."""

    def down(messages: object) -> str:
        raise BackendUnavailableError("cannot reach fake-2: connection failed")

    parts.session.pool.get("fake-2")._replies = down  # type: ignore[attr-defined]
    parts.session.pool.rules = RoutingRules("fake", "hosted-openai", ("fake",))
    assert events.ask_api(parts, QUESTION, backend="fake-2")["fell_back"] is True
