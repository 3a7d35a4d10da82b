"""Time from pressing Enter on the page to the first token and to the finished answer.

Launches the real app (`app.py`, default settings and index) on loopback and drives it in
headless Chromium. Baseline, same run and same warm server: the assistant's own timings for
the same questions through the page's `/ask` API, so the difference is what the page adds
(queueing, websocket/SSE streaming, rendering). Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from assistant.backends.model_files import DEFAULT_MODEL
from bench.report import write_section
from harness.browser import CHROMIUM, CHROMIUM_ARGS
from harness.http_servers import running_app

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "What does vendor lock-in mean when you build on a proprietary LLM?",
    "Why are open-source models a good fit for healthcare or finance companies with sensitive data?",
    "Can hosting my own open model end up cheaper than paying for a proprietary API?",
]
BOT = "#kb-chat .message.bot, #kb-chat [data-testid='bot']"


def time_on_page(page: Any, question: str) -> tuple[float, float]:
    """(seconds to the first visible token, seconds to the finished answer)."""
    page.click("#kb-new-chat")
    page.wait_for_function(f'document.querySelectorAll("{BOT}").length === 0')
    page.fill("#kb-question textarea", question)
    started = time.perf_counter()
    page.press("#kb-question textarea", "Enter")
    page.wait_for_function(
        f'[...document.querySelectorAll("{BOT}")].some(e => e.innerText.trim())',
        polling=20,
        timeout=300_000,
    )
    first = time.perf_counter() - started
    page.wait_for_selector("#kb-chat sub", timeout=300_000)  # the closing backend line
    return first, time.perf_counter() - started


def measure(url: str) -> dict[str, Any]:
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#kb-status :text('documents')")
        cold = time_on_page(page, QUESTIONS[0])  # loads the model
        warm = [time_on_page(page, q) for q in QUESTIONS]
        browser.close()
    client = Client(url, verbose=False)
    api = [client.predict(q, "local", api_name="/ask")["timings"] for q in QUESTIONS]
    return {"cold": cold, "warm": warm, "api": api}


def render(figures: dict[str, Any]) -> str:
    page_first = statistics.median(f for f, _ in figures["warm"])
    page_total = statistics.median(t for _, t in figures["warm"])
    api_first = statistics.median(t["first_token_s"] for t in figures["api"])
    api_total = statistics.median(t["total_s"] for t in figures["api"])
    cold_first, cold_total = figures["cold"]
    return f"""## The web page: question to first token (`bench/web_page.py`, {date.today()}, {os.cpu_count()} CPU cores)

Real app on loopback, headless Chromium, default local model ({DEFAULT_MODEL.model_id}, CPU),
median of {len(QUESTIONS)} questions after a warm-up question.

| measured where | first token | whole answer |
|---|---|---|
| assistant's own timing via `/ask` (baseline) | {api_first:.2f} s | {api_total:.2f} s |
| on the page, Enter to text visible | {page_first:.2f} s | {page_total:.2f} s |

The page adds {page_first - api_first:+.2f} s to the first token. The very first question after
start also loads the model: first token after {cold_first:.1f} s, answer after {cold_total:.1f} s.
"""


def main() -> None:
    with running_app(ROOT) as url:
        report = render(measure(url))
    print(report)
    write_section("web-page", report)


if __name__ == "__main__":
    main()
