"""kb's index and assistant as MCP tools and resources (the official SDK's `MCPServer`).

Tools: `search`, `ask` (with progress notifications while the model works),
`list_documents` and `list_collections`; resources: `kb://documents/{path}`, a document's
cleaned text. Bad arguments, a busy model and a failed answer come back as tool errors with
the reason, and the server keeps running. What results hold back is `results`' concern.
Transports are the caller's: `serve_stdio` here, streamable HTTP on the page's server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from assistant.access import Caller
from assistant.errors import KbError
from assistant.frontends.mcp.tools import Gate, KbTools, SemaphoreGate
from assistant.session import Session
from assistant.settings import Settings

log = logging.getLogger(__name__)

BUSY = "kb is busy answering other questions; try again in a minute."
INSTRUCTIONS = (
    "kb answers questions from a team's documents with citations. Use `search` to find "
    "passages, `ask` for a cited answer written by kb's model, `list_documents` and "
    "`list_collections` to see what kb holds, and read kb://documents/{path} for a whole "
    "document."
)
STDIO_CALLER = Caller("mcp", "local")  # the user who started `kb mcp` on this machine
CALLER_KEY = "kb_caller"  # where the page's server leaves an HTTP request's caller


def caller_of(ctx: Context) -> Caller:
    """Who made this call: the caller the page's server found from the request's token, or
    this machine's user over stdio."""
    request = ctx.request_context.request
    found = getattr(getattr(request, "state", None), CALLER_KEY, None)
    return found if isinstance(found, Caller) else STDIO_CALLER


def build_mcp_server(
    session: Session, backend: str, share_local_only: bool, gate: Gate
) -> MCPServer:
    """kb's MCP server over `session`, answering with profile `backend` by default."""
    kb = KbTools(session, backend, share_local_only, gate)
    server = MCPServer("kb", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def search(
        query: str, ctx: Context, collections: list[str] | None = None, top_k: int = 5
    ) -> dict[str, Any]:
        """The passages of kb's documents closest to `query` (hybrid: meaning and words): each
        with its source, title, location, collection, score, text and any personal data it
        holds. `collections` narrows the search; `top_k` is 1 to 20."""
        return kb.search(caller_of(ctx), query, collections, top_k)

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
    def list_documents(ctx: Context, collection: str | None = None) -> dict[str, Any]:
        """The documents kb searches: path, title, collection, chunks, size, when added, and
        the kb://documents/ URI of each one's cleaned text."""
        return kb.documents(caller_of(ctx), collection)

    @server.tool()
    def list_collections(ctx: Context) -> dict[str, Any]:
        """The collections kb's documents are in, with their document counts."""
        return kb.collection_list(caller_of(ctx))

    @server.resource("kb://documents/{+path}", mime_type="text/markdown")
    def document(path: str, ctx: Context) -> str:
        """A document's text as kb reads it (cleaned)."""
        return kb.document_text(caller_of(ctx), path)

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
    caller = caller_of(ctx)
    scope = kb.scope(caller, collections, backend)
    if not kb.gate.take():
        raise ToolError(BUSY)
    try:
        await ctx.report_progress(0, 3, "searching kb's documents")
        found = partial(anyio.from_thread.run, ctx.report_progress, 1, 3, "the model is writing")
        answered = await anyio.to_thread.run_sync(kb.answer, caller, scope, question, found)
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
