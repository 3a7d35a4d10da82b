"""kb's MCP server as a user runs it (the real embedder, index and default GGUF), driven by the
MCP SDK's client: `kb mcp` over stdio, and the real app's `/mcp` over streamable HTTP. Each
answers a question with the default model, with citations to the corpus. The wording is the
model's and varies between CPUs: the tests check the answer's shape, never its words."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ROOT
from tests.support.mcp_client import Transcript, run_client, structured

pytestmark = pytest.mark.e2e

QUESTION = "Why do privacy and compliance push teams to deploy models on-premise?"


async def _asked(env: dict[str, str]) -> dict[str, Any]:
    said = Transcript()
    progress: list[float] = []
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant", "mcp"], env=env, cwd=str(ROOT)
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        found = await said.tool(session, "search", query=QUESTION, top_k=3)
        answered = await said.ask(session, progress, question=QUESTION)
    return {"search": found, "answer": answered, "progress": progress}


async def _asked_over_http(url: str) -> dict[str, Any]:
    said = Transcript()
    progress: list[float] = []
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        found = await said.tool(session, "search", query=QUESTION, top_k=3, collections=["default"])
        answered = await said.ask(session, progress, question=QUESTION)
        source = structured(found)["hits"][0]["source"]
        text = (await session.read_resource(f"kb://documents/{source}")).contents[0].text
    return {"tools": tools, "search": found, "answer": answered, "progress": progress, "text": text}


def test_the_default_model_answers_an_mcp_client_with_citations(app_env: dict[str, str]) -> None:
    _check(run_client(lambda: _asked(app_env)))


def test_the_real_apps_mcp_endpoint_answers_over_http(app_url: str) -> None:
    seen = run_client(lambda: _asked_over_http(f"{app_url}mcp"))
    assert seen["tools"] == {"search", "ask", "list_documents", "list_collections"}
    _check(seen)
    first = structured(seen["search"])["hits"][0]
    assert first["text"][:60] in seen["text"]  # the document holds the passage


def _check(seen: dict[str, Any]) -> None:
    hits = structured(seen["search"])["hits"]
    assert len(hits) == 3 and all(hit["source"].startswith("corpus/") for hit in hits)
    assert not seen["answer"].is_error, seen["answer"].content
    answer = structured(seen["answer"])
    assert answer["backend"] == "local" and answer["model"].lower().startswith("qwen2.5-coder-1.5b")
    assert answer["answer"].strip() and answer["evidence"]
    for citation in answer["citations"]:  # every cited passage is marked in the text
        assert f"[{citation['n']}]" in answer["answer"]
        assert citation["source"].startswith("corpus/")
    assert seen["progress"][0] == 0 and seen["progress"][-1] == 3
