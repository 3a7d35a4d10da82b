"""The web page: a Gradio chat over the assistant, streaming answers with their sources.

A plain chat for now; the full page (sources panel, backend switch, upload) is its own work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from assistant.wiring import enforce_offline

enforce_offline()

import gradio as gr  # noqa: E402

from assistant.errors import KbError  # noqa: E402
from assistant.llms.base import Message  # noqa: E402
from assistant.models import Answer  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES = [
    "When do open-source models cost less than proprietary APIs?",
    "Why do privacy and compliance push teams to deploy models on-premise?",
    "What does the Gemma licence say about model derivatives?",
    "What is the hybrid strategy for using open and closed models?",
]


def format_answer(answer: Answer) -> str:
    """Answer text, then its sources as a Markdown list, then backend, model and time."""
    lines = [answer.text]
    if answer.citations:
        lines += ["", "**Sources**"]
        for c in answer.citations:
            chunk = c.hit.chunk
            where = " — ".join(filter(None, [chunk.title, chunk.location]))
            quote = " ".join(chunk.text.split())[:240]
            lines.append(f"- [{c.n}] {where} (`{chunk.source}`)\n  > {quote}…")
    total = answer.timings.get("total_s") or 0.0
    lines += ["", f"<sub>{answer.backend} · {answer.model} · {total:.1f} s</sub>"]
    return "\n".join(lines)


def _history(messages: list[Any]) -> list[Message]:
    turns: list[Message] = []
    for m in messages:
        role, content = (m.get("role"), m.get("content")) if isinstance(m, dict) else (None, None)
        if role in ("user", "assistant") and isinstance(content, str):
            turns.append({"role": role, "content": content.split("\n\n**Sources**")[0]})
    return turns


def build_web_ui(assistant: Assistant) -> gr.Blocks:
    def respond(message: str, history: list[Any]) -> Iterator[str]:
        text = ""
        try:
            for event in assistant.stream(message, _history(history)):
                if isinstance(event, Answer):
                    yield format_answer(event)
                else:
                    text += event
                    yield text
        except KbError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="kb — ask your documents") as page:
        gr.Markdown(
            "## kb — ask your documents\nAnswers come only from the indexed documents, with sources."
        )
        gr.ChatInterface(respond, examples=EXAMPLES, cache_examples=False)
    return page


def launch(page: gr.Blocks, host: str, port: int, block: bool = True) -> None:
    """Serve on `host:port`; never a public share link."""
    page.queue().launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=not block
    )


def serve(settings: Settings, host: str, port: int) -> None:
    from assistant.wiring import build_assistant

    assistant = build_assistant(settings)
    launch(build_web_ui(assistant), host, port)
