"""One process, one port: the Gradio page mounted in a FastAPI app beside kb's API (`/v1`)
and MCP server (`/mcp`, streamable HTTP), served by uvicorn. Who may use each: the page's login
(required off loopback) and the API's bearer tokens (`api.ApiAccess`), for `/v1` and `/mcp`.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.access import Grant, parse_grants
from assistant.errors import ConfigurationError
from assistant.frontends.web.api import ApiAccess, api_router
from assistant.frontends.web.assets import PAGE_CSS, PAGE_SCRIPT
from assistant.frontends.web.busy import BUSY_HEADROOM
from assistant.frontends.web.events import PageParts
from assistant.frontends.web.openai_shapes import ApiError
from assistant.settings import Settings
from assistant.telemetry.metrics import METRICS

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

# On Ctrl-C or SIGTERM, how long answers in progress may finish: an open page keeps a
# connection to the server for as long as the tab is open, so waiting for every connection
# would never stop.
GRACE_S = 3


def is_loopback(host: str) -> bool:
    """True when `host` only listens on this machine (no login needed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _grants(settings: Settings) -> list[Grant]:
    """Every page login: `web.username` (seeing `web.collections`) and `web.logins`."""
    web = settings.web
    grants = []
    if web.username and web.password:
        seen = frozenset(web.collections) if web.collections is not None else None
        grants.append(Grant(web.username, web.password.get_secret_value(), seen))
    if web.logins is not None:
        grants += parse_grants(web.logins.get_secret_value(), "login")
    return grants


def page_auth(settings: Settings, host: str) -> list[tuple[str, str]] | None:
    """Logins for the page: none needed on loopback, required (or refuse to start) anywhere
    else."""
    logins = [(grant.name, grant.secret) for grant in _grants(settings)]
    if logins:
        return logins
    if is_loopback(host):
        return None
    raise ConfigurationError(
        f"refusing to serve on {host} without a login: set KB_WEB__USERNAME and "
        "KB_WEB__PASSWORD (environment or .env), or serve on 127.0.0.1"
    )


def page_logins(settings: Settings) -> dict[str, frozenset[str] | None]:
    """What each page login may see, by name (None: every collection)."""
    return {grant.name: grant.collections for grant in _grants(settings)}


def api_access(settings: Settings, host: str) -> ApiAccess:
    """Who may call the API when serving on `host`."""
    api = settings.api
    return ApiAccess(tuple(api.token_list()), is_loopback(host), tokens_file=api.tokens_file)


@dataclass
class RunningServer:
    """A server started with `block=False`; `close()` stops it."""

    server: uvicorn.Server
    thread: threading.Thread
    page: gr.Blocks

    def close(self) -> None:
        """Stop serving and wait until the port is free."""
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.page.close()


def _metrics_route(access: ApiAccess) -> Callable[[Request], Response]:
    """`/metrics` in Prometheus' text format; off loopback a scraper sends an API token
    (Prometheus: `authorization: {credentials: ...}`)."""

    def metrics(request: Request) -> Response:
        try:
            access.check(request)
        except ApiError as error:
            return JSONResponse(error.body, status_code=error.status)
        return Response(generate_latest(METRICS.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


class _GuardedMcp:
    """The MCP server's ASGI app behind the API's bearer tokens; each request carries its
    caller (the token's name and collections) to the tools, under `key` in its state."""

    def __init__(self, inner: Any, access: ApiAccess, key: str):
        self._inner = inner
        self._access = access
        self._key = key

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            try:
                caller = self._access.caller(Request(scope), surface="mcp")
            except ApiError as error:
                refused = JSONResponse(error.body, status_code=error.status)
                await refused(scope, receive, send)
                return
            scope.setdefault("state", {})[self._key] = caller
        await self._inner(scope, receive, send)


def _with_mcp(app: FastAPI, mcp: MCPServer, access: ApiAccess) -> None:
    """Serve `mcp` at `/mcp`; its sessions live as long as the server (the app's lifespan)."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings

    from assistant.frontends.mcp.server import CALLER_KEY

    # On loopback the SDK refuses other Host headers (DNS rebinding); elsewhere tokens guard it.
    security = (
        None
        if access.loopback
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=security)
    endpoint = _GuardedMcp(StreamableHTTPASGIApp(mcp.session_manager), access, CALLER_KEY)
    # Starlette routes a non-function endpoint as an ASGI app; its type hint knows only functions.
    app.add_route("/mcp", endpoint, methods=["GET", "POST", "DELETE"])  # type: ignore[arg-type]
    app.router.lifespan_context = _running(mcp, app.router.lifespan_context)


def _running(mcp: MCPServer, outer: Any) -> Callable[[Any], Any]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with outer(app), mcp.session_manager.run():
            yield

    return lifespan


def server_app(
    page: gr.Blocks,
    parts: PageParts,
    access: ApiAccess,
    auth: list[tuple[str, str]] | None = None,
    mcp: MCPServer | None = None,
) -> FastAPI:
    """The API's routes (and MCP's) first, then the page at `/` (never a public share link).
    The busy gate refuses extra questions politely; Gradio's queue, sized well past it, only
    stops a flood."""
    app = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None
    )  # the API is OpenAI's, documented there
    app.include_router(api_router(parts, access))
    if mcp is not None:
        _with_mcp(app, mcp, access)
    app.add_api_route("/metrics", _metrics_route(access), methods=["GET"])
    answer_slots = parts.gate.limit + BUSY_HEADROOM
    page.queue(default_concurrency_limit=4, max_size=4 * answer_slots)
    threads = max(40, answer_slots + 8)  # questions waiting for the model hold a thread
    page.max_threads = threads
    page._queue.max_thread_count = (
        threads  # what `launch(max_threads=...)` sets; mount has no argument
    )
    return gr.mount_gradio_app(
        app,
        page,
        path="",
        auth=auth,
        max_file_size=f"{parts.session.library.limits.max_file_mb}mb",
        css=PAGE_CSS,
        head=PAGE_SCRIPT,
        footer_links=["api"],
    )


def launch(
    page: gr.Blocks,
    parts: PageParts,
    host: str,
    port: int,
    block: bool = True,
    auth: list[tuple[str, str]] | None = None,
    access: ApiAccess | None = None,
    mcp: MCPServer | None = None,
) -> RunningServer | None:
    """Serve page and API on `host:port`: until interrupted, or (`block=False`) in a thread,
    returned once it accepts connections."""
    app = server_app(page, parts, access or ApiAccess(loopback=is_loopback(host)), auth, mcp)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # uvicorn's lines go through kb's handlers: redacted, JSON if asked
        access_log=False,
        timeout_graceful_shutdown=GRACE_S,
    )
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    server = uvicorn.Server(config)
    if block:
        server.run()
        return None
    thread = threading.Thread(target=server.run, name="kb-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigurationError(f"the page could not start on {host}:{port}")
        time.sleep(0.05)
    return RunningServer(server, thread, page)
