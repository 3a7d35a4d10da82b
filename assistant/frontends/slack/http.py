"""Slack's Events API over HTTP, for an endpoint that faces the internet.

Bolt's own request handling (signature, replay window, retries, acks) under uvicorn, an ASGI
server: a slow or hostile client costs a coroutine, not a thread. Before a body is read, a
request is refused when it says it is too large (413) or lacks Slack's signature headers or
carries a timestamp more than five minutes off (401); a body is read up to the size cap and
within `read_timeout_s` (else 413 or 408), and its signature checked (401) before Bolt, which
checks it again, sees it. HTTP mode does not start without a signing secret.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from assistant.errors import ConfigurationError

log = logging.getLogger(__name__)

REPLAY_WINDOW_S = 300  # Slack's own rule: older requests may be replays


@dataclass(frozen=True)
class HttpLimits:
    """What the HTTP events endpoint accepts: body size, time to read it, connections."""

    max_body_bytes: int = 1 << 20  # Slack's event payloads are a few kB
    read_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 200


class _TooLarge(Exception):
    """The body went past the cap while it was read."""


def _refused_before_reading(headers: Any, limits: HttpLimits) -> tuple[int, str] | None:
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limits.max_body_bytes):
        return 413, "request body too large"
    stamp = headers.get("x-slack-request-timestamp", "")
    if not headers.get("x-slack-signature") or not stamp.isdigit():
        return 401, "not signed by Slack"
    if abs(time.time() - int(stamp)) > REPLAY_WINDOW_S:
        return 401, "stale request timestamp"
    return None


async def _read_capped(request: Any, cap: int) -> bytes:
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > cap:
            raise _TooLarge
    return bytes(body)


def events_app(app: App, path: str, signing_secret: str, limits: HttpLimits) -> Any:
    """The ASGI application: POST `path` only. The signature is checked here as well as by
    Bolt, so the endpoint is safe whichever way `app` was built."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from slack_sdk.signature import SignatureVerifier
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    if not signing_secret:
        raise ConfigurationError("the Slack HTTP endpoint needs a signing secret")
    verifier = SignatureVerifier(signing_secret)

    async def endpoint(request: Any) -> Any:
        refused = _refused_before_reading(request.headers, limits)
        if refused:
            return PlainTextResponse(refused[1], status_code=refused[0])
        try:
            body = await asyncio.wait_for(
                _read_capped(request, limits.max_body_bytes), limits.read_timeout_s
            )
        except TimeoutError:
            return PlainTextResponse("request body too slow", status_code=408)
        except _TooLarge:
            return PlainTextResponse("request body too large", status_code=413)
        if not verifier.is_valid_request(body, dict(request.headers)):
            return PlainTextResponse("not signed by Slack", status_code=401)
        response = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return Starlette(routes=[Route(path, endpoint, methods=["POST"])])


class EventsServer:
    """uvicorn on a socket bound at construction (port 0 picks a free one): `serve_forever()`
    blocks until `shutdown()` from another thread or Ctrl-C."""

    def __init__(
        self, app: App, host: str, port: int, path: str, signing_secret: str, limits: HttpLimits
    ):
        import uvicorn

        application = events_app(app, path, signing_secret, limits)
        self._socket = socket.create_server((host, port), reuse_port=False)
        self.server_address = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            application,
            log_level="warning",
            timeout_keep_alive=int(limits.keep_alive_s),
            limit_concurrency=limits.max_connections,
            server_header=False,
            proxy_headers=False,
        )
        self._server = uvicorn.Server(config)

    def serve_forever(self) -> None:
        """Serve on the bound socket until `shutdown()` or Ctrl-C."""
        self._server.run(sockets=[self._socket])

    def shutdown(self) -> None:
        """Ask the server to stop; `serve_forever()` then returns."""
        self._server.should_exit = True

    def server_close(self) -> None:
        """Close the listening socket."""
        self._socket.close()
