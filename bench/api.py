"""Answer latency through the OpenAI-compatible API against the page's `/ask`, in one run.

Launches the real app (`app.py`, default settings and index, the local model) on loopback and
asks the same questions three ways, in turn, after a warm-up question that loads the model:
`/ask` through gradio_client (the baseline), `POST /v1/chat/completions` with the `openai`
SDK, and the same streamed (time to the first chunk, the evidence, the first text and the end).
Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from assistant.backends.model_files import DEFAULT_MODEL
from bench.report import write_section
from bench.web_page import QUESTIONS
from harness.http_servers import running_app

ROOT = Path(__file__).resolve().parent.parent
MODEL = "kb-local"


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def via_ask(url: str) -> Callable[[str], dict[str, float]]:
    from gradio_client import Client

    client = Client(url, verbose=False)

    def ask(question: str) -> dict[str, float]:
        seconds, reply = timed(lambda: client.predict(question, "local", api_name="/ask"))
        return {"total": seconds, "assistant": reply["timings"]["total_s"]}

    return ask


def via_api(url: str) -> Callable[[str], dict[str, float]]:
    import openai

    client = openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0, timeout=600)

    def ask(question: str) -> dict[str, float]:
        messages = [{"role": "user", "content": question}]
        seconds, reply = timed(
            lambda: client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        )
        return {"total": seconds, "assistant": reply.model_extra["kb"]["timings"]["total_s"]}

    return ask


def via_stream(url: str) -> Callable[[str], dict[str, float]]:
    import openai

    client = openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0, timeout=600)

    def ask(question: str) -> dict[str, float]:
        started = time.perf_counter()
        marks: dict[str, float] = {}
        messages = [{"role": "user", "content": question}]
        for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):  # type: ignore[arg-type]
            now = time.perf_counter() - started
            marks.setdefault("first_chunk", now)
            if (chunk.model_extra or {}).get("kb", {}).get("evidence"):
                marks.setdefault("evidence", now)
            if chunk.choices[0].delta.content:
                marks.setdefault("first_text", now)
            if chunk.choices[0].finish_reason:
                marks["assistant"] = chunk.model_extra["kb"]["timings"]["total_s"]  # type: ignore[index]
        return {**marks, "total": time.perf_counter() - started}

    return ask


def measure(url: str) -> dict[str, list[dict[str, float]]]:
    ways = {"ask": via_ask(url), "api": via_api(url), "stream": via_stream(url)}
    ways["ask"](QUESTIONS[0])  # loads the model
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
    for i, question in enumerate(QUESTIONS * 2):
        order = list(ways)[i % 3 :] + list(ways)[: i % 3]  # no way always goes first
        for name in order:
            figures[name].append(ways[name](question))
    return figures


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def render(figures: dict[str, list[dict[str, float]]]) -> str:
    ask, api, stream = figures["ask"], figures["api"], figures["stream"]
    n = len(ask)
    return f"""## Answer latency: the OpenAI-compatible API against `/ask` (`bench/api.py`, {date.today()}, {os.cpu_count()} CPU cores)

Real app on loopback (one process, one port), default local model ({DEFAULT_MODEL.model_id},
CPU), the same {len(QUESTIONS)} questions twice through each way in rotating order after a
warm-up question; medians of {n} answers each. "kb's own" is the assistant's timing of the same
answer, so the difference is what the way of asking adds.

| way of asking | whole answer | kb's own | added | first chunk | evidence | first text |
|---|---|---|---|---|---|---|
| `/ask` via gradio_client (baseline) | {median(ask, "total"):.2f} s | {median(ask, "assistant"):.2f} s | {median(ask, "total") - median(ask, "assistant"):+.2f} s | | | |
| `/v1/chat/completions` (openai SDK) | {median(api, "total"):.2f} s | {median(api, "assistant"):.2f} s | {median(api, "total") - median(api, "assistant"):+.2f} s | | | |
| same, `stream=True` | {median(stream, "total"):.2f} s | {median(stream, "assistant"):.2f} s | {median(stream, "total") - median(stream, "assistant"):+.2f} s | {median(stream, "first_chunk"):.2f} s | {median(stream, "evidence"):.2f} s | {median(stream, "first_text"):.2f} s |

"Added" is the comparison: the time each way spends outside kb's own work, per answer. The
whole-answer times differ with the answers, not the way: a question asked again reuses
llama.cpp's cached prompt (first token in ~0.6 s instead of ~19 s), and the model's reply
then often differs (in one check, 20 tokens the first time, 256, the limit, each time after).
A stream sends its text once kb has checked the whole reply (citations, numbers, refusals), so
its first text comes with the end of the answer; the role chunk comes at once and the evidence
(in the `kb` field) as soon as it is chosen.
"""


def main() -> None:
    with running_app(ROOT) as url:
        report = render(measure(url))
    print(report)
    write_section("api", report)


if __name__ == "__main__":
    main()
