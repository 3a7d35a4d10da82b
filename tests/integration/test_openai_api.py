"""kb's OpenAI-compatible API, served with the page by real uvicorn on loopback, called with
the real `openai` SDK: answers (streamed and not), citations in the `kb` field, and each error
with the status and shape OpenAI's API gives it. Fakes answer (scripted model, hashing
embedder); tests/e2e/test_app.py drives the real app and model the same way."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from assistant.frontends.web.api import ApiAccess
from assistant.frontends.web.events import PageParts
from assistant.frontends.web.page import build_web_ui
from assistant.frontends.web.server import launch
from harness.http_servers import free_port
from index.retriever import HybridRetriever
from tests.conftest import places_held
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

TOKEN = "kb-test-token-5b1d9e"
QUESTION = "Is self-hosting cheaper at high volumes?"


@contextmanager
def serving(parts: PageParts, access: ApiAccess) -> Iterator[str]:
    """The page and API on a free loopback port: the API's base URL."""
    port = free_port()
    server = launch(build_web_ui(parts), parts, "127.0.0.1", port, block=False, access=access)
    assert server is not None
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()


@pytest.fixture
def parts(retriever: HybridRetriever, tmp_path: Path) -> PageParts:  # noqa: F811
    return make_page_parts(retriever, tmp_path / "uploads")


@pytest.fixture
def api(parts: PageParts) -> Iterator[str]:
    with serving(parts, ApiAccess()) as url:
        yield url


def sdk(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60)


def ask(question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    return {"model": "kb-fake", "messages": [{"role": "user", "content": question}], **extra}


def test_models_lists_each_usable_profile(api: str) -> None:
    ids = [m.id for m in sdk(api).models.list()]
    assert ids == ["kb-fake", "kb-fake-2"]  # the unconfigured hosted profile is not offered
    assert sdk(api).models.retrieve("kb-fake-2").owned_by == "kb"


def test_a_completion_cites_passages_in_content_and_kb_field(api: str) -> None:
    reply = sdk(api).chat.completions.create(**ask())
    content = reply.choices[0].message.content or ""
    assert "[1]" in content and reply.choices[0].finish_reason == "stop"
    assert reply.model == "kb-fake" and reply.object == "chat.completion"
    kb = reply.model_extra["kb"]  # type: ignore[index]
    cited = kb["citations"][0]
    assert cited["n"] == 1 and cited["source"].startswith("docs/") and cited["text"]
    assert {"title", "location", "score", "evidence"} <= cited.keys()
    assert kb["refused"] is False and kb["backend"] == "fake"


def test_a_stream_sends_role_evidence_text_then_the_kb_field(api: str) -> None:
    whole = sdk(api).chat.completions.create(**ask()).choices[0].message.content
    chunks = list(sdk(api).chat.completions.create(**ask(), stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert any((c.model_extra or {}).get("kb", {}).get("evidence") for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole and len([c for c in chunks if c.choices[0].delta.content]) > 1
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["kb"]["citations"]  # type: ignore[index]
    assert len({c.id for c in chunks}) == 1


def test_the_backend_is_the_model_and_history_is_the_conversation(api: str) -> None:
    reply = sdk(api).chat.completions.create(
        model="kb-fake-2",
        messages=[
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "What do the documents say about costs?"},
            {"role": "assistant", "content": "Self-hosting is cheaper at volume [1]."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
        ],
    )
    kb = reply.model_extra["kb"]  # type: ignore[index]
    assert kb["model"] == "scripted-2"
    # With a conversation before it, the question was condensed (by kb-fake-2's scripted reply)
    assert kb["query"] == "Owning hardware is cheaper at volume [1]."
    alone = sdk(api).chat.completions.create(**{**ask(), "model": "kb-fake-2"})
    assert alone.model_extra["kb"]["query"] == QUESTION  # type: ignore[index]


def test_a_refusal_is_a_normal_reply(api: str) -> None:
    reply = sdk(api).chat.completions.create(**ask("Who won the 1954 football world cup?"))
    assert reply.choices[0].message.content
    assert reply.model_extra["kb"]["refused"] is True  # type: ignore[index]


def openai_error(exc: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = exc.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}, body
    return body


def test_an_unknown_or_unavailable_model_is_openais_404(api: str) -> None:
    for model in ("gpt-4o", "kb-hosted-openai"):
        with pytest.raises(openai.NotFoundError) as exc:
            sdk(api).chat.completions.create(**{**ask(), "model": model})
        body = openai_error(exc)
        assert body["code"] == "model_not_found" and model in body["message"]
    assert "unavailable: not configured" in body["message"]


def test_missing_or_malformed_messages_are_openais_400(api: str) -> None:
    cases: list[tuple[dict[str, Any], str | None, str | None]] = [
        ({"model": "kb-fake"}, "messages", "missing_required_parameter"),
        ({"model": "kb-fake", "messages": []}, "messages", "empty_array"),
        ({"model": "kb-fake", "messages": "hello"}, "messages", "invalid_type"),
        ({"messages": ask()["messages"]}, "model", "missing_required_parameter"),
        ({"model": "kb-fake", "messages": [{"role": "system", "content": "hi"}]}, "messages", None),
        (
            {"model": "kb-fake", "messages": [{"role": "user", "content": 3}]},
            "messages[0].content",
            None,
        ),
    ]
    client = sdk(api)
    for body, param, code in cases:
        with pytest.raises(openai.BadRequestError) as exc:
            client.post("/chat/completions", cast_to=object, body=body)
        error = openai_error(exc)
        assert (error["type"], error["param"], error["code"]) == (
            "invalid_request_error",
            param,
            code,
        ), body


def test_a_body_that_is_not_json_is_openais_400(api: str) -> None:
    response = httpx.post(f"{api}/chat/completions", content=b"{not json", timeout=30)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "parse the JSON body" in error["message"]


def test_a_busy_page_answers_429_with_retry_after(parts: PageParts) -> None:
    for _ in range(parts.gate.limit):
        assert parts.gate.take()
    with serving(parts, ApiAccess(retry_after_s=7)) as url:
        for stream in (False, True):
            with pytest.raises(openai.RateLimitError) as exc:
                sdk(url).chat.completions.create(**ask(), stream=stream)
            assert exc.value.response.headers["retry-after"] == "7"
            assert openai_error(exc)["code"] == "rate_limit_exceeded"
        for _ in range(parts.gate.limit):
            parts.gate.release()
        assert sdk(url).chat.completions.create(**ask()).choices[0].message.content
    assert places_held(parts.gate) == 0  # every answered question gave its place back


def test_tokens_are_required_off_loopback_and_never_logged(
    parts: PageParts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serving(parts, ApiAccess(loopback=False)) as url:
        with pytest.raises(openai.AuthenticationError) as exc:
            sdk(url).models.list()
        assert "KB_API__TOKENS" in openai_error(exc)["message"]
    with serving(parts, ApiAccess(tokens=(TOKEN, "second-token-77"), loopback=False)) as url:
        for key in ("wrong-token", TOKEN[:-1]):
            with pytest.raises(openai.AuthenticationError) as exc:
                sdk(url, key).chat.completions.create(**ask())
            assert openai_error(exc)["code"] == "invalid_api_key"
        no_key = httpx.get(f"{url}/models", timeout=30)
        assert (
            no_key.status_code == 401 and no_key.json()["error"]["type"] == "invalid_request_error"
        )
        assert sdk(url, TOKEN).chat.completions.create(**ask()).choices[0].message.content
        assert sdk(url, "second-token-77").models.list().data
        metrics = url.removesuffix("/v1") + "/metrics"
        assert httpx.get(metrics, timeout=30).status_code == 401  # a scraper sends a token too
        scraped = httpx.get(metrics, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert scraped.status_code == 200 and "kb_questions_total" in scraped.text
    assert TOKEN not in caplog.text and "second-token-77" not in caplog.text


def test_a_client_that_leaves_a_stream_gives_its_place_back(parts: PageParts) -> None:
    import time

    with serving(parts, ApiAccess()) as url:
        for _ in range(3):
            with httpx.stream("POST", f"{url}/chat/completions", json=ask(stream=True)) as reply:
                assert reply.status_code == 200  # headers only: the client goes away
        deadline = time.monotonic() + 30
        while places_held(parts.gate) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert places_held(parts.gate) == 0
