"""The page's server (page, `/v1`, and `/mcp` when given) on a free loopback port, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.frontends.web.api import ApiAccess
from assistant.frontends.web.events import PageParts
from assistant.frontends.web.page import build_web_ui
from assistant.frontends.web.server import launch
from harness.http_servers import free_port


@contextmanager
def serving(parts: PageParts, access: ApiAccess, mcp: Any = None) -> Iterator[str]:
    """The server's root URL (no trailing slash) while it runs."""
    port = free_port()
    server = launch(build_web_ui(parts), parts, "127.0.0.1", port, False, None, access, mcp)
    assert server is not None
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
