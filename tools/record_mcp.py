"""`python -m tools.record_mcp`: a session of the MCP SDK's client with `kb mcp` (stdio, this
checkout's index and default model), printed for docs/mcp.md: each call, then what came back,
strings cut at 150 characters and lists at three items."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Why do privacy and compliance push teams to deploy models on-premise?"
DOCUMENT = "kb://documents/corpus/000_f78ef12f1b6dd304.txt"


def _trim(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _trim(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trim(item) for item in value[:3]] + (["…"] if len(value) > 3 else [])
    if isinstance(value, str) and len(value) > 150:
        return value[:150] + " …"
    return value


def _text(part: Any) -> str:
    """The text of a content part or resource content (kb sends only text)."""
    return str(getattr(part, "text", ""))


def _show(call: str, reply: Any) -> None:
    print(f"→ {call}\n← {json.dumps(_trim(reply), indent=2, ensure_ascii=False)}\n")


async def _ask(session: ClientSession) -> None:
    notes: list[dict[str, Any]] = []
    started = time.monotonic()

    async def noted(progress: float, total: float | None, message: str | None) -> None:
        at = round(time.monotonic() - started, 1)
        notes.append({"progress": progress, "total": total, "message": message, "at_s": at})

    answer = await session.call_tool("ask", {"question": QUESTION}, progress_callback=noted)
    _show("notifications/progress during ask", notes)
    took = time.monotonic() - started
    _show(
        f'tools/call ask {{"question": Q}}  (answered in {took:.1f} s)', answer.structured_content
    )


async def _session() -> None:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant", "mcp"], cwd=ROOT
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        hello = await session.initialize()
        _show("initialize", {"name": hello.server_info.name, "instructions": hello.instructions})
        tools = (await session.list_tools()).tools
        _show(
            "tools/list",
            [{"name": t.name, "arguments": list(t.input_schema["properties"])} for t in tools],
        )
        found = await session.call_tool("search", {"query": QUESTION, "top_k": 2})
        _show('tools/call search {"query": Q, "top_k": 2}', found.structured_content)
        listed = await session.call_tool("list_collections", {})
        _show("tools/call list_collections", listed.structured_content)
        await _ask(session)
        wrong = await session.call_tool("search", {"query": QUESTION, "top_k": 0})
        _show(
            'tools/call search {"top_k": 0}',
            {"isError": wrong.is_error, "text": _text(wrong.content[0])},
        )
        document = await session.read_resource(DOCUMENT)
        _show(f"resources/read {DOCUMENT}", _text(document.contents[0]))


if __name__ == "__main__":
    anyio.run(_session)
