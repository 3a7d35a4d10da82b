"""Access by collection on the page's server (real uvicorn on loopback, tokens required as off
loopback): two tokens, each opening one collection, over `/v1` (the `openai` SDK, streamed and
not) and `/mcp` (the MCP SDK's client: search, ask, list_documents, list_collections, a
document read). No response holds a word found only outside the token's collection; asking
for another collection is refused; the audit log names the token, its scope and only
passages from it. Fakes answer (scripted model, hashing embedder) over a real index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from assistant.frontends.mcp.server import build_mcp_server
from assistant.frontends.web.api import ApiAccess
from assistant.frontends.web.events import PageParts
from tests.support.mcp_client import Transcript, run_client
from tests.support.page_server import serving
from tests.support.scoped_kb import (
    ENG_QUESTION,
    HR_QUESTION,
    HR_TOKEN,
    HR_WORD,
    PUBLIC_TOKEN,
    TOKENS,
    scoped_parts,
    words_outside,
)


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageParts:
    monkeypatch.chdir(tmp_path)
    return scoped_parts(tmp_path)


@pytest.fixture
def url(parts: PageParts, tmp_path: Path) -> Iterator[str]:
    """The page's server, `/v1` and `/mcp` behind the two tokens (and a third from a file)."""
    tokens_file = tmp_path / "tokens.txt"
    tokens_file.write_text("# name:token:collections\nengineer:tok-eng-5c7a0d:eng\n")
    access = ApiAccess(TOKENS, loopback=False, tokens_file=tokens_file)
    with serving(parts, access, build_mcp_server(parts.session, "fake", False, parts.gate)) as root:
        yield root


def _sdk(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=60)


def _ask(question: str, **extra: Any) -> dict[str, Any]:
    return {"model": "kb-fake", "messages": [{"role": "user", "content": question}], **extra}


def test_a_token_never_sees_passages_outside_its_collection_over_v1(url: str) -> None:
    public = _sdk(url, PUBLIC_TOKEN)
    reply = public.chat.completions.create(**_ask(HR_QUESTION))
    assert words_outside(reply.model_dump_json()) == []
    assert reply.model_extra["kb"]["scope"] == "Searched: public (as api public-reader)"  # type: ignore[index]
    streamed = public.chat.completions.create(**_ask(ENG_QUESTION, stream=True))
    assert words_outside("".join(chunk.model_dump_json() for chunk in streamed)) == []
    own = _sdk(url, HR_TOKEN).chat.completions.create(**_ask(HR_QUESTION))
    assert words_outside(own.model_dump_json()) == [HR_WORD]  # the check can see the word


def test_asking_for_another_collection_is_refused_and_a_file_token_works(url: str) -> None:
    body = _ask(HR_QUESTION, collections=["hr"])
    headers = {"Authorization": f"Bearer {PUBLIC_TOKEN}"}
    refused = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=60)
    assert refused.status_code == 403 and "not allowed to search hr" in refused.text
    engineer = _sdk(url, "tok-eng-5c7a0d").chat.completions.create(**_ask(HR_QUESTION))
    assert words_outside(engineer.model_dump_json(), "zephyrine") == []


def test_a_token_file_change_holds_from_the_next_request(url: str, tmp_path: Path) -> None:
    engineer = _sdk(url, "tok-eng-5c7a0d")
    engineer.models.list()
    (tmp_path / "tokens.txt").write_text("engineer:tok-eng-5c7a0d:public\n")
    reply = engineer.chat.completions.create(**_ask(ENG_QUESTION))
    assert words_outside(reply.model_dump_json()) == []
    (tmp_path / "tokens.txt").write_text("")
    with pytest.raises(openai.AuthenticationError):
        engineer.models.list()


async def _mcp_calls(url: str, token: str) -> Transcript:
    said = Transcript()
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        await said.tool(session, "search", query=HR_QUESTION)
        await said.tool(session, "search", query=ENG_QUESTION, top_k=10)
        await said.tool(session, "ask", question=HR_QUESTION)
        await said.tool(session, "ask", question=ENG_QUESTION, collections=["eng"])
        await said.tool(session, "list_documents")
        await said.tool(session, "list_documents", collection="hr")
        await said.tool(session, "list_collections")
        await said.read(session, "kb://documents/docs/hr/bonus.md")
        await said.read(session, "kb://documents/docs/eng/deploy.md")
    return said


def test_a_token_never_sees_outside_its_collection_over_mcp(url: str) -> None:
    said = run_client(lambda: _mcp_calls(url, PUBLIC_TOKEN))
    assert words_outside(said.text()) == []
    assert '"hr"' not in dict(said.calls)["list_collections"]
    own = run_client(lambda: _mcp_calls(url, HR_TOKEN))
    assert words_outside(own.text()) == [HR_WORD]


def test_an_answer_over_v1_leaves_an_audit_record_of_the_token_and_its_scope(
    url: str, parts: PageParts
) -> None:
    _sdk(url, PUBLIC_TOKEN).chat.completions.create(**_ask(HR_QUESTION))
    assert parts.session.audit_log is not None
    [record] = list(parts.session.audit_log.records())
    assert record["surface"] == "api" and record["caller"] == "public-reader"
    assert record["scope"] == ["public"] and record["passages"]
    assert {p["file"] for p in record["passages"]} == {"docs/public/costs.md"}
    assert HR_TOKEN not in json.dumps(record) and PUBLIC_TOKEN not in json.dumps(record)
    assert parts.session.audit_log.verify().ok
