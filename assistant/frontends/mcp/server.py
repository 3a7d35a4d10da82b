"""kb's index and assistant as MCP tools and resources (the official SDK's `MCPServer`).

Tools: `search`, `ask` (with progress notifications while the model works),
`list_documents` and `list_collections`; resources: `kb://documents/{path}`, a document's
cleaned text. Bad arguments, a busy model and a failed answer come back as tool errors with
the reason, and the server keeps running. What results hold back is `results`' concern.
Transports are the caller's: `serve_stdio` here, streamable HTTP on the page's server.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any, Protocol

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from assistant.answering.models import Answer, AnswerStream, Evidence
from assistant.documents.catalog import UnknownSourceError
from assistant.errors import KbError
from assistant.frontends.mcp import results
from assistant.session import Scope, Session
from assistant.settings import Settings

log = logging.getLogger(__name__)

BUSY = "kb is busy answering other questions; try again in a minute."
MAX_TOP_K = 20
INSTRUCTIONS = (
    "kb answers questions from a team's documents with citations. Use `search` to find "
    "passages, `ask` for a cited answer written by kb's model, `list_documents` and "
    "`list_collections` to see what kb holds, and read kb://documents/{path} for a whole "
    "document."
)


class Gate(Protocol):
    """How many questions may be answered at once (the page's `BusyGate` is one)."""

    def take(self) -> bool: ...

    def release(self) -> None: ...


class SemaphoreGate:
    """A `Gate` of `limit` places, for a server without the page's gate."""

    def __init__(self, limit: int):
        self._places = threading.BoundedSemaphore(limit)

    def take(self) -> bool:
        return self._places.acquire(blocking=False)

    def release(self) -> None:
        self._places.release()


class KbTools:
    """The tools' work, apart from the SDK: checks arguments, runs kb, shapes results. Unless
    `share_local_only`, local-only documents are out of every scope: never searched, listed
    or read."""

    def __init__(self, session: Session, backend: str, share_local_only: bool, gate: Gate):
        self.session = session
        self.backend = backend
        self.share = share_local_only
        self.gate = gate

    def collections(self, wanted: Sequence[str] | None) -> tuple[str, ...]:
        """`wanted`, each a collection kb has, else a ToolError listing them."""
        known = self.session.library.collections()
        unknown = [name for name in wanted or () if name not in known]
        if unknown:
            raise ToolError(
                f"unknown collections: {', '.join(unknown)}; kb has: {', '.join(known)}"
            )
        return tuple(wanted or ())

    def scope(self, collections: Sequence[str] | None, backend: str | None) -> Scope:
        """The scope of one call, or a ToolError naming what kb has."""
        scope = Scope(backend or self.backend, self.collections(collections), self.share)
        usable = [c.name for c in self.session.pool.choices if c.available]
        if scope.backend not in usable and scope.backend != "hosted":
            raise ToolError(
                f"unknown or unavailable backend {scope.backend!r}: use one of {usable}"
            )
        return scope

    def not_searched(self, scope: Scope) -> int:
        """How many local-only documents in the scope's collections were left out."""
        if self.share:
            return 0
        rows = self.session.library.rows()
        wanted = scope.collections
        return sum(r.local_only and (not wanted or r.collection in wanted) for r in rows)

    def search(self, query: str, collections: Sequence[str] | None, top_k: int) -> dict[str, Any]:
        if not query.strip():
            raise ToolError("query is empty: give words to search for")
        if not 1 <= top_k <= MAX_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        scope = self.scope(collections, None)
        hits = self.session.answering(scope).retrieve(query, top_k)
        found = {"hits": [results.hit_result(hit) for hit in hits]}
        return results.with_local_only_note(found, self.not_searched(scope))

    def answer(self, scope: Scope, question: str, evidence_found: Any) -> dict[str, Any]:
        """Answer in this (worker) thread; `evidence_found()` when the passages are chosen."""
        stream = AnswerStream(self.session.answering(scope).stream(question))
        for event in stream:
            if isinstance(event, Evidence):
                evidence_found()
        answer: Answer = stream.answer()
        return results.with_local_only_note(results.answer_result(answer), self.not_searched(scope))

    def documents(self, collection: str | None) -> dict[str, Any]:
        self.session.library.follow_index()
        wanted = self.collections([collection] if collection else None)
        rows = [r for r in self.session.library.rows() if not wanted or r.collection in wanted]
        shown = [r for r in rows if self.share or not r.local_only]
        listed = {"documents": [results.document_result(row) for row in shown]}
        return results.with_local_only_note(listed, len(rows) - len(shown))

    def collection_list(self) -> dict[str, Any]:
        self.session.library.follow_index()
        rows = [r for r in self.session.library.rows() if self.share or not r.local_only]
        sizes = Counter(r.collection for r in rows)
        return {"collections": [{"name": n, "documents": k} for n, k in sorted(sizes.items())]}

    def document_text(self, path: str) -> str:
        self.session.library.follow_index()
        row = next((r for r in self.session.library.rows() if r.path == path), None)
        if row is not None and row.local_only and not self.share:
            raise ResourceError(f"{path} is marked local-only: kb does not send it to MCP clients")
        try:
            return self.session.library.document_text(path)[1]
        except UnknownSourceError as exc:
            raise ResourceError(f"{exc}; list_documents gives the paths") from None


def build_mcp_server(
    session: Session, backend: str, share_local_only: bool, gate: Gate
) -> MCPServer:
    """kb's MCP server over `session`, answering with profile `backend` by default."""
    kb = KbTools(session, backend, share_local_only, gate)
    server = MCPServer("kb", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def search(query: str, collections: list[str] | None = None, top_k: int = 5) -> dict[str, Any]:
        """The passages of kb's documents closest to `query` (hybrid: meaning and words): each
        with its source, title, location, collection, score, text and any personal data it
        holds. `collections` narrows the search; `top_k` is 1 to 20."""
        return kb.search(query, collections, top_k)

    @server.tool()
    async def ask(
        question: str,
        ctx: Context,
        collections: list[str] | None = None,
        backend: str | None = None,
    ) -> dict[str, Any]:
        """A cited answer from kb's documents, written by kb's model (local by default; a
        profile name in `backend`): the answer, its citations and evidence quotes, whether kb
        refused (the documents do not cover it), and the backend and model that answered."""
        return await _ask(kb, ctx, question, collections, backend)

    @server.tool()
    def list_documents(collection: str | None = None) -> dict[str, Any]:
        """The documents kb searches: path, title, collection, chunks, size, when added, and
        the kb://documents/ URI of each one's cleaned text."""
        return kb.documents(collection)

    @server.tool()
    def list_collections() -> dict[str, Any]:
        """The collections kb's documents are in, with their document counts."""
        return kb.collection_list()

    @server.resource("kb://documents/{+path}", mime_type="text/markdown")
    def document(path: str) -> str:
        """A document's text as kb reads it (cleaned)."""
        return kb.document_text(path)

    return server


async def _ask(
    kb: KbTools,
    ctx: Context,
    question: str,
    collections: Sequence[str] | None,
    backend: str | None,
) -> dict[str, Any]:
    if not question.strip():
        raise ToolError("question is empty")
    scope = kb.scope(collections, backend)
    if not kb.gate.take():
        raise ToolError(BUSY)
    try:
        await ctx.report_progress(0, 3, "searching kb's documents")
        found = partial(anyio.from_thread.run, ctx.report_progress, 1, 3, "the model is writing")
        answered = await anyio.to_thread.run_sync(kb.answer, scope, question, found)
        await ctx.report_progress(3, 3, "answered")
        return answered
    except KbError as exc:
        log.warning("MCP answer failed: %s", exc)
        raise ToolError(f"kb could not answer: {exc}") from None
    finally:
        kb.gate.release()


def serve_stdio(settings: Settings, backend: str | None) -> None:
    """`kb mcp`: the server over stdin/stdout until the client closes it."""
    from assistant.wiring import build_session

    session = build_session(settings)
    chosen = backend or settings.llm.backend
    server = build_mcp_server(
        session, chosen, settings.mcp.share_local_only, SemaphoreGate(settings.web.max_waiting)
    )
    log.info("kb mcp: serving over stdio, answering with %s", chosen)
    anyio.run(server.run_stdio_async)
