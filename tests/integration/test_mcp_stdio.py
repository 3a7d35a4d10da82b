"""`kb mcp` in a child process (the fakes: scripted model, hashing embedder, a real index),
driven over stdio by the MCP SDK's own client: tools and resources listed, search, a cited
answer with progress, a document read, a collection scope, bad arguments answered as tool
errors by a server that keeps running, and a local-only document's words in no response."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.conftest import ROOT
from tests.support.fakes import FAKE_SETTINGS
from tests.support.mcp_client import Transcript, run_client, structured

SECRET_WORD = "quillfeather"  # only in the local-only document
DOCS = {
    "public/costs.md": "# Costs\n\nSelf-hosting open models is cheaper at very high volumes "
    "than per-token API fees.\n",
    "public/contacts.md": "# Contacts\n\nQuestions about hosting budgets go to ops@example.com.\n",
    "lab/privacy.md": "# Privacy\n\nRunning models on premises keeps sensitive data inside "
    "your own infrastructure.\n",
    "hr/bonus.md": "# Quillfeather plan\n\nThe Quillfeather bonus pays each engineer "
    "a Quillfeather share at year end.\n",
}
MARKERS = {
    "public/.kb-collection": "public",
    "lab/.kb-collection": "lab",
    "hr/.kb-collection": "hr",
    "hr/.kb-local-only": "",
}


def _env(**extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return {**kept, **FAKE_SETTINGS, "PYTHONPATH": str(ROOT), "KB_HOME": ".", **extra}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documents, indexed by the real `kb ingest` (with the fakes)."""
    work = tmp_path_factory.mktemp("mcp")
    for name, text in {**DOCS, **MARKERS}.items():
        (work / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "docs" / name).write_text(text)
    kb = [sys.executable, "-m", "tests.support.fake_kb", "ingest", "docs"]
    done = subprocess.run(kb, cwd=work, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return work


def _session(folder: Path, **extra: str) -> Any:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tests.support.fake_kb", "mcp"],
        env=_env(**extra),
        cwd=str(folder),
    )
    return stdio_client(server)


async def _everything(folder: Path, **extra: str) -> dict[str, Any]:
    """One client session calling every tool and resource; what came back, by call."""
    said = Transcript()
    progress: list[float] = []
    async with _session(folder, **extra) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        seen: dict[str, Any] = {"transcript": said, "progress": progress}
        seen["tools"] = {tool.name for tool in (await session.list_tools()).tools}
        templates = (await session.list_resource_templates()).resource_templates
        seen["templates"] = [t.uri_template for t in templates]
        seen["bad_top_k"] = await said.tool(session, "search", query="hosting", top_k=0)
        seen["bad_collection"] = await said.tool(
            session, "search", query="hosting", collections=["nope"]
        )
        seen["bad_backend"] = await said.tool(session, "ask", question="Costs?", backend="nope")
        seen["search"] = await said.tool(session, "search", query="self-hosting costs volumes")
        seen["contacts"] = await said.tool(session, "search", query="hosting budgets contacts")
        seen["lab"] = await said.tool(session, "search", query="hosting", collections=["lab"])
        seen["answer"] = await said.ask(session, progress, question="Is self-hosting cheaper?")
        seen["documents"] = await said.tool(session, "list_documents")
        seen["collections"] = await said.tool(session, "list_collections")
        seen["read"] = await said.read(session, "kb://documents/docs/public/costs.md")
        seen["missing"] = await said.read(session, "kb://documents/docs/nowhere.md")
        await _ask_about_the_secret(session, said, seen)
    return seen


async def _ask_about_the_secret(session: ClientSession, said: Transcript, seen: dict) -> None:
    question = "What does the Quillfeather bonus pay?"
    seen["secret_search"] = await said.tool(session, "search", query=question)
    seen["secret_answer"] = await said.tool(session, "ask", question=question)
    await said.tool(session, "ask", question=question, collections=["hr"])
    await said.tool(session, "list_documents", collection="hr")
    seen["secret_read"] = await said.read(session, "kb://documents/docs/hr/bonus.md")


@pytest.fixture(scope="module")
def seen(folder: Path) -> dict[str, Any]:
    return run_client(lambda: _everything(folder))


def test_the_client_lists_the_tools_and_the_document_resource(seen: dict[str, Any]) -> None:
    assert seen["tools"] == {"search", "ask", "list_documents", "list_collections"}
    assert seen["templates"] == ["kb://documents/{+path}"]


def test_search_returns_passages_with_where_they_are_and_personal_data_marked(
    seen: dict[str, Any],
) -> None:
    hits = structured(seen["search"])["hits"]
    assert hits and hits[0]["source"] == "docs/public/costs.md"
    assert {"title", "location", "collection", "score", "text"} <= hits[0].keys()
    assert hits[0]["personal_data"] == []
    contact = next(h for h in structured(seen["contacts"])["hits"] if "contacts" in h["source"])
    assert contact["personal_data"] == ["an e-mail address"]


def test_a_collection_scope_returns_only_its_passages(seen: dict[str, Any]) -> None:
    hits = structured(seen["lab"])["hits"]
    assert hits and {hit["collection"] for hit in hits} == {"lab"}


def test_ask_returns_a_cited_answer_with_progress(seen: dict[str, Any]) -> None:
    answer = structured(seen["answer"])
    assert not seen["answer"].is_error and answer["refused"] is False
    assert answer["citations"] and "[1]" in answer["answer"]
    assert answer["citations"][0]["source"] == "docs/public/costs.md"
    assert answer["evidence"] and answer["backend"] == "fake"
    assert seen["progress"][0] == 0 and seen["progress"][-1] == 3 and 1 in seen["progress"]


def test_bad_arguments_are_tool_errors_with_the_reason_and_the_server_goes_on(
    seen: dict[str, Any],
) -> None:
    assert seen["bad_top_k"].is_error and "top_k" in seen["bad_top_k"].content[0].text
    unknown = seen["bad_collection"].content[0].text
    assert seen["bad_collection"].is_error and "nope" in unknown and "public" in unknown
    backends = seen["bad_backend"].content[0].text
    assert seen["bad_backend"].is_error and "nope" in backends and "fake" in backends
    assert not seen["search"].is_error  # asked after the errors


def test_documents_collections_and_a_document_read(seen: dict[str, Any]) -> None:
    documents = structured(seen["documents"])
    paths = {d["path"] for d in documents["documents"]}
    assert paths == {"docs/public/costs.md", "docs/public/contacts.md", "docs/lab/privacy.md"}
    assert documents["local_only"].startswith("1 document(s) marked local-only")
    names = {c["name"] for c in structured(seen["collections"])["collections"]}
    assert names == {"public", "lab"}  # hr holds only a local-only document
    text = seen["read"].contents[0].text
    assert text.startswith("# Costs") and "per-token API fees" in text
    assert isinstance(seen["missing"], Exception) and "list_documents" in str(seen["missing"])


def test_a_local_only_documents_words_are_in_no_response(seen: dict[str, Any]) -> None:
    assert SECRET_WORD not in seen["transcript"].text().lower()
    assert isinstance(seen["secret_read"], Exception) and "local-only" in str(seen["secret_read"])
    for searched in (seen["secret_search"], seen["secret_answer"]):
        assert "not searched" in structured(searched)["local_only"]


def test_sharing_local_only_documents_is_a_setting(folder: Path) -> None:
    """The check above can fail: with the setting on, the same calls return the words."""
    shared = run_client(lambda: _everything(folder, KB_MCP__SHARE_LOCAL_ONLY="true"))
    assert SECRET_WORD in shared["transcript"].text().lower()
    assert "local_only" not in structured(shared["documents"])
