"""The page's event handlers over fakes: streaming, errors, backend switch, uploads, login."""

from pathlib import Path

import pytest

from assistant.errors import BackendError, ConfigurationError
from assistant.frontends.web import events
from assistant.frontends.web import server as web_server
from assistant.settings import Settings
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

QUESTION = "Is self-hosting cheaper at high volumes?"


@pytest.fixture
def parts(retriever: HybridRetriever, tmp_path: Path) -> events.PageParts:
    return make_page_parts(retriever, tmp_path / "uploads")


def test_answer_streams_then_shows_cited_answer_and_sources(parts: events.PageParts) -> None:
    convo = events.Conversation("fake")
    steps = list(events.answer_turn(parts, "Is self-hosting cheaper at high volumes?", [], convo))
    partials = [chat[-1]["content"] for _, chat, _, _ in steps[1:-1]]
    assert len(partials) >= 3 and partials[0] in partials[-1]  # tokens arrive one by one
    box, chat, convo, sources = steps[-1]
    assert box == "" and chat[0] == {
        "role": "user",
        "content": "Is self-hosting cheaper at high volumes?",
    }
    assert "(#kb-src-0-1)" in chat[-1]["content"] and "fake · scripted" in chat[-1]["content"]
    assert 'id="kb-src-0-1"' in sources and len(convo.history) == 2


def test_follow_up_uses_the_conversation_history(parts: events.PageParts) -> None:
    convo = events.Conversation("fake")
    list(events.answer_turn(parts, "Is self-hosting cheaper at high volumes?", [], convo))
    *_, (_, _, convo, sources) = events.answer_turn(parts, "And privacy?", [], convo)
    assert len(convo.answers) == 2 and 'id="kb-src-1-1"' in sources
    model = parts.session.pool.get("fake")
    assert "Is self-hosting cheaper" in str(model.calls[-2])  # type: ignore[attr-defined]  # condense saw history


def test_a_failed_answer_keeps_the_question(parts: events.PageParts) -> None:
    def broken(messages: object) -> str:
        raise BackendError("the model crashed")

    parts.session.pool.get("fake")._replies = broken  # type: ignore[attr-defined]
    *_, (box, chat, convo, _) = events.answer_turn(parts, QUESTION, [], events.Conversation("fake"))
    assert box == QUESTION
    assert "the model crashed" in chat[-1]["content"] and not convo.answers


def test_switching_backend_is_per_conversation_and_refuses_unavailable(
    parts: events.PageParts,
) -> None:
    mine, other = events.Conversation("fake"), events.Conversation("fake")
    value, mine, status = events.switch_backend(parts, "fake-2", mine)
    assert value == "fake-2" and mine.backend == "fake-2" and "scripted-2" in status
    *_, (_, chat, _, _) = events.answer_turn(parts, "Is self-hosting cheaper?", [], mine)
    assert "scripted-2" in chat[-1]["content"]
    *_, (_, chat, _, _) = events.answer_turn(parts, "Is self-hosting cheaper?", [], other)
    assert "fake · scripted ·" in chat[-1]["content"]
    value, mine, _ = events.switch_backend(parts, "hosted-openai", mine)
    assert value == "fake-2" and mine.backend == "fake-2"


def test_uploads_check_type_and_size_then_ingest(parts: events.PageParts, tmp_path: Path) -> None:
    good = tmp_path / "zorblax.md"
    good.write_text("# Zorblax\n\nThe Zorblax protocol was ratified by the Quillon council.\n")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)
    report, cleared = events.add_documents(parts, [str(good), str(exe), str(big)])
    assert "✅ **zorblax.md**: added" in report and cleared is None
    assert (
        "❌ **tool.exe**: unsupported type" in report
        and "❌ **big.txt**: larger than 1 MB" in report
    )
    assert parts.session.assistant.retrieve("Zorblax Quillon")[0].chunk.source.endswith(
        "zorblax.md"
    )


def test_open_document_serves_indexed_files_only(parts: events.PageParts) -> None:
    assert '<mark id="kb-doc-mark">' in events.open_document(parts, "docs/privacy.md|0|9")
    assert "Cannot open" in events.open_document(parts, "/etc/passwd|0|9")


def test_ask_api_returns_the_cli_json_shape(parts: events.PageParts) -> None:
    result = events.ask_api(parts, "Is self-hosting cheaper at high volumes?", "fake-2")
    assert result["model"] == "scripted-2" and result["citations"]
    assert {"question", "answer", "citations", "backend", "model", "timings"} <= set(result)


def test_page_refuses_to_serve_off_loopback_without_a_login() -> None:
    assert web_server.page_auth(Settings(), "127.0.0.1") is None
    with pytest.raises(ConfigurationError, match="KB_WEB__PASSWORD"):
        web_server.page_auth(Settings(), "0.0.0.0")
    settings = Settings(web={"username": "ann", "password": "s3cret"})  # type: ignore[arg-type]
    assert web_server.page_auth(settings, "0.0.0.0") == [("ann", "s3cret")]
    assert "s3cret" not in repr(settings)


def test_a_failing_backend_restarts_the_answer_on_the_fallback_with_a_note(
    parts: events.PageParts,
) -> None:
    from assistant.backends.pool import RoutingRules
    from assistant.errors import BackendUnavailableError

    def down(messages: object) -> str:
        raise BackendUnavailableError("cannot reach fake-2: connection failed")

    parts.session.pool.get("fake-2")._replies = down  # type: ignore[attr-defined]
    parts.session.pool.rules = RoutingRules("fake", "hosted-openai", ("fake",))
    convo = events.Conversation("fake-2")
    steps = list(events.answer_turn(parts, QUESTION, [], convo))
    shown = [chat[-1]["content"] for _, chat, _, _ in steps]
    assert any("cannot reach fake-2" in s and "answered by fake" in s for s in shown[:-1])
    final = shown[-1]
    assert "fake · scripted ·" in final and "cannot reach fake-2" in final  # who answered, and why
    assert convo.answers[-1].fell_back
