"""`/mcp` on the page's server (real uvicorn on loopback, streamable HTTP), driven by the MCP
SDK's own client: refused without the API's token where tokens are required, and with one it
searches a collection, answers with citations and progress, reads a document, says "busy"
as a tool error when the page's places are taken, and returns no word of a local-only
document. Fakes answer (scripted model, hashing embedder) over a real index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from assistant.frontends.mcp.server import build_mcp_server
from assistant.frontends.web.api import ApiAccess
from assistant.frontends.web.events import PageParts
from tests.support.mcp_client import Transcript, run_client, structured
from tests.support.page_server import serving
from tests.unit.assistant.conftest import indexed_retriever, make_page_parts

TOKEN = "kb-mcp-token-7c2e41"
SECRET_WORD = "quillfeather"
DOCS = {
    "public/.kb-collection": "public",
    "public/costs.md": "# Costs\n\nSelf-hosting open models is cheaper at very high volumes "
    "than per-token API fees.\n",
    "lab/.kb-collection": "lab",
    "lab/privacy.md": "# Privacy\n\nRunning models on premises keeps data in house.\n",
    "hr/.kb-local-only": "",
    "hr/bonus.md": "# Quillfeather plan\n\nThe Quillfeather bonus pays a Quillfeather share.\n",
}


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageParts:
    monkeypatch.chdir(tmp_path)
    return make_page_parts(indexed_retriever(tmp_path, DOCS), tmp_path / "uploads")


@pytest.fixture
def mcp_url(parts: PageParts) -> Iterator[str]:
    """The page's server with `/mcp`, requiring the token as off loopback."""
    mcp = build_mcp_server(parts.session, "fake", False, parts.gate)
    with serving(parts, ApiAccess((TOKEN,), loopback=False), mcp) as root:
        yield f"{root}/mcp"


async def _calls(url: str, parts: PageParts) -> dict[str, Any]:
    said = Transcript()
    progress: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        seen: dict[str, Any] = {"transcript": said, "progress": progress}
        seen["tools"] = {tool.name for tool in (await session.list_tools()).tools}
        seen["lab"] = await said.tool(session, "search", query="models", collections=["lab"])
        seen["answer"] = await said.ask(session, progress, question="Is self-hosting cheaper?")
        seen["read"] = await said.read(session, "kb://documents/docs/public/costs.md")
        await said.tool(session, "search", query="Quillfeather bonus share")
        await said.tool(session, "ask", question="What does the Quillfeather bonus pay?")
        await said.tool(session, "list_documents")
        seen["secret_read"] = await said.read(session, "kb://documents/docs/hr/bonus.md")
        seen["busy"] = await _asked_while_busy(session, said, parts)
    return seen


async def _asked_while_busy(session: ClientSession, said: Transcript, parts: PageParts) -> Any:
    taken = 0
    while parts.gate.take():
        taken += 1
    try:
        return await said.tool(session, "ask", question="Is self-hosting cheaper?")
    finally:
        for _ in range(taken):
            parts.gate.release()


def test_mcp_refuses_a_client_without_the_token(mcp_url: str) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    refused = httpx.post(mcp_url, json=hello, timeout=30)
    assert refused.status_code == 401 and "Bearer" in refused.json()["error"]["message"]
    wrong = httpx.post(mcp_url, json=hello, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401


def test_the_sdk_client_searches_asks_and_reads_over_http(mcp_url: str, parts: PageParts) -> None:
    seen = run_client(lambda: _calls(mcp_url, parts))
    assert seen["tools"] == {"search", "ask", "list_documents", "list_collections"}
    hits = structured(seen["lab"])["hits"]
    assert hits and {hit["source"] for hit in hits} == {"docs/lab/privacy.md"}
    answer = structured(seen["answer"])
    assert answer["citations"] and answer["citations"][0]["source"] == "docs/public/costs.md"
    assert answer["refused"] is False and seen["progress"][-1] == 3
    assert "per-token API fees" in seen["read"].contents[0].text
    assert seen["busy"].is_error and "busy" in seen["busy"].content[0].text
    assert SECRET_WORD not in seen["transcript"].text().lower()
    assert isinstance(seen["secret_read"], Exception)
