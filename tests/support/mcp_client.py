"""The MCP SDK's own client, driven from synchronous tests: `run_client` runs one client
session in a thread of its own (an earlier test may have left an event loop running in this
one), and `Transcript` keeps every response, to search all that a client received."""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from mcp import ClientSession

T = TypeVar("T")
CLIENT_TIMEOUT_S = 600


def run_client(work: Callable[[], Awaitable[T]]) -> T:
    """`work()` run to the end by anyio in a new thread; its result, or its exception raised."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = anyio.run(work)
        except BaseException as exc:  # handed back to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="mcp-client", daemon=True)
    thread.start()
    thread.join(CLIENT_TIMEOUT_S)
    if thread.is_alive():
        raise TimeoutError(f"the MCP client did not finish in {CLIENT_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


@dataclass
class Transcript:
    """Every response a client session received, as JSON text, by call."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        """All responses together."""
        return "\n".join(response for _, response in self.calls)

    async def tool(self, session: ClientSession, name: str, **arguments: Any) -> Any:
        """Call tool `name`; the result (kept)."""
        result = await session.call_tool(name, arguments)
        self.calls.append((name, result.model_dump_json()))
        return result

    async def ask(self, session: ClientSession, progress: list[float], **arguments: Any) -> Any:
        """Call `ask`, keeping each progress notification's value in `progress`."""

        async def noted(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        result = await session.call_tool("ask", arguments, progress_callback=noted)
        self.calls.append(("ask", result.model_dump_json()))
        return result

    async def read(self, session: ClientSession, uri: str) -> Any:
        """Read resource `uri`; the result, or the error it raised (both kept)."""
        try:
            result = await session.read_resource(uri)
        except Exception as exc:  # an MCP error is a result here
            self.calls.append(("read", str(exc)))
            return exc
        self.calls.append(("read", result.model_dump_json()))
        return result


def structured(result: Any) -> dict[str, Any]:
    """A tool result's JSON object: its structured content, else its first text."""
    data = getattr(result, "structured_content", None)
    if data is None:
        data = json.loads(result.content[0].text)
    return dict(data)
