"""Privacy that holds for passages too (issue 16, item 1): a hosted call carries the question,
the history and the passages, so `auto` reads all three; passages of documents marked
local-only never go to a hosted model; a fallback never moves a question off this machine.
The hosted model here is a scripted stand-in that records what it was sent;
tests/integration/test_private_routing.py does the same against a recording server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from assistant.answering.models import AnswerOptions
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import fixed_chain
from assistant.backends.llms.base import Message
from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
from assistant.errors import BackendUnavailableError
from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.discovery import LOCAL_ONLY_MARKER
from tests.support.fakes import HashingEmbedder

PUBLIC = "# Costs\n\nSelf-hosting open models is cheaper at very high volumes than API fees.\n"
SALARIES = "# Salaries\n\nThe salary band for senior engineers is reviewed every April.\n"
CONTACTS = "# Contacts\n\nQuestions about the salary review go to jane.doe@example.com today.\n"


class Recording:
    """A stand-in chat model that records what it was sent and fails on demand."""

    def __init__(self, backend: str, fail: bool = False) -> None:
        self.backend = self.model = backend
        self.fail = fail
        self.calls: list[list[Message]] = []

    def stream(self, messages: Sequence[Message], **_: object) -> Iterator[str]:
        self.calls.append(list(messages))
        if self.fail:
            raise BackendUnavailableError(f"{self.backend} is down")
        yield "From the passages [1]."


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "hr").mkdir(parents=True)
    (tmp_path / "docs" / "costs.md").write_text(PUBLIC)
    (tmp_path / "docs" / "contacts.md").write_text(CONTACTS)
    (tmp_path / "docs" / "hr" / "salaries.md").write_text(SALARIES)
    (tmp_path / "docs" / "hr" / LOCAL_ONLY_MARKER).write_text("")
    embedder = HashingEmbedder()
    ingest_paths([Path("docs")], IndexConfig(Path("index")), embedder)
    retriever = HybridRetriever(load_index(Path("index")), embedder)
    local, hosted = Recording("local"), Recording("openai")
    pool = ChatModelPool(
        [BackendChoice("local", "Local"), BackendChoice("openai", "OpenAI", hosted=True)],
        {"local": lambda: local, "openai": lambda: hosted},
        "local",
        RoutingRules("local", "openai", ("local", "openai")),
    )
    options = AnswerOptions(min_relevance=0.0, top_k=1)
    assistant = Assistant(retriever, fixed_chain(local), embedder, options)
    return assistant, pool, local, hosted


def _sent(model: Recording) -> str:
    return "\n".join(m["content"] for call in model.calls for m in call)


def test_the_mark_is_recorded_per_chunk_and_per_file(world) -> None:  # type: ignore[no-untyped-def]
    state = world[0].retriever.state
    marked = {c.source for c in state.chunks.values() if c.meta.get("local_only")}
    assert marked == {"docs/hr/salaries.md"}
    assert state.files["docs/hr/salaries.md"].local_only
    assert not state.files["docs/costs.md"].local_only


def test_auto_keeps_a_question_local_when_its_passages_are_local_only(world) -> None:  # type: ignore[no-untyped-def]
    assistant, pool, local, hosted = world
    answer = assistant.routed(pool.router("auto")).ask("When is the salary band reviewed?")
    assert hosted.calls == [] and local.calls
    assert "local-only documents (docs/hr/salaries.md)" in (answer.route or "")


def test_an_explicit_hosted_choice_is_refused_and_nothing_is_sent(world) -> None:  # type: ignore[no-untyped-def]
    assistant, pool, local, hosted = world
    answer = assistant.routed(pool.router("openai")).ask("When is the salary band reviewed?")
    assert hosted.calls == [] and local.calls == []
    assert answer.refused and answer.text.startswith("Not sent to OpenAI")
    assert "docs/hr/salaries.md" in answer.text and "April" in answer.text  # the evidence


def test_auto_reads_the_passages_for_personal_data(world) -> None:  # type: ignore[no-untyped-def]
    assistant, pool, local, hosted = world
    answer = assistant.routed(pool.router("auto")).ask("Who answers questions on the review?")
    assert hosted.calls == [] and "jane.doe@example.com" in _sent(local)
    assert "the passages contain an e-mail address" in (answer.route or "")


def test_auto_still_sends_ordinary_passages_to_the_hosted_model(world) -> None:  # type: ignore[no-untyped-def]
    assistant, pool, local, hosted = world
    assistant.routed(pool.router("auto")).ask("Is self-hosting cheaper at high volumes?")
    assert "cheaper at very high volumes" in _sent(hosted) and local.calls == []


def test_a_local_failure_never_falls_back_to_the_hosted_model(world) -> None:  # type: ignore[no-untyped-def]
    assistant, pool, local, hosted = world
    local.fail = True
    with pytest.raises(BackendUnavailableError):
        assistant.routed(pool.router("auto")).ask("When is the salary band reviewed?")
    with pytest.raises(BackendUnavailableError):
        assistant.routed(pool.router("local")).ask("Is self-hosting cheaper at high volumes?")
    assert hosted.calls == []
    assert pool.chain("openai") == [hosted, local]  # hosted first may still fall back locally


def test_adding_or_removing_the_marker_re_ingests_the_folder(world) -> None:  # type: ignore[no-untyped-def]
    marker = Path("docs") / "hr" / LOCAL_ONLY_MARKER
    marker.unlink()
    report = ingest_paths([Path("docs")], IndexConfig(Path("index")), HashingEmbedder())
    assert report.updated == ["docs/hr/salaries.md"]  # same content, mark gone
    state = load_index(Path("index"))
    assert not state.files["docs/hr/salaries.md"].local_only
    assert not any(c.meta.get("local_only") for c in state.chunks.values())
    marker.write_text("")
    report = ingest_paths([Path("docs")], IndexConfig(Path("index")), HashingEmbedder())
    assert report.updated == ["docs/hr/salaries.md"]
    assert load_index(Path("index")).files["docs/hr/salaries.md"].local_only
