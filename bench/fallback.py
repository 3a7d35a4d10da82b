"""What a failing hosted backend costs before the local model answers instead.

Baseline, same run: the default local model answering directly. Then the same questions
with a hosted profile in front of it that fails in each way kb handles (a scripted
OpenAI-compatible server on loopback, or no server at all), with the SDK's default retry
count (2) and with none. Overhead = median total time minus the baseline's. Writes its
section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path

from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.llms.hosted import HostedConfig, OpenAICompatibleChatModel
from assistant.backends.profiles import build_pool
from assistant.settings import Settings
from assistant.wiring import build_assistant
from bench.report import write_section
from harness.http_servers import Script, serve

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "What does vendor lock-in mean when you build on a proprietary LLM?",
    "Why are open-source models a good fit for healthcare or finance companies with sensitive data?",
    "Can hosting my own open model end up cheaper than paying for a proprietary API?",
]


@contextmanager
def nothing_listening() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"


SCENARIOS: list[tuple[str, Callable[[], AbstractContextManager[str]], int, float]] = [
    # name, endpoint, retries, timeout
    ("server not running, 2 retries", nothing_listening, 2, 30),
    ("server not running, no retry", nothing_listening, 0, 30),
    ("HTTP 500, 2 retries", lambda: serve(Script(status=500)), 2, 30),
    ("HTTP 429, 2 retries", lambda: serve(Script(status=429)), 2, 30),
    ("HTTP 401 (bad key)", lambda: serve(Script(status=401)), 2, 30),
    ("cut after 2 streamed chunks", lambda: serve(Script(cut_after=2)), 0, 30),
    ("never answers, 5 s timeout, no retry", lambda: serve(Script(hang_s=8)), 0, 5),
]


def timed(assistant: Assistant, falls_back: bool = False) -> tuple[float, float]:
    """Medians over the questions: (seconds until the fallback started, whole answer)."""
    switches, totals = [], []
    for question in QUESTIONS:
        started = time.perf_counter()
        switched = 0.0
        for event in assistant.stream(question):
            if isinstance(event, Restart):
                switched = time.perf_counter() - started
            elif isinstance(event, Answer):
                assert not falls_back or event.fell_back, "expected a fallback"
        switches.append(switched)
        totals.append(time.perf_counter() - started)
    return statistics.median(switches), statistics.median(totals)


Row = tuple[str, float, float]


def measure() -> tuple[float, list[Row]]:
    settings = Settings()
    pool = build_pool(settings)
    local = build_assistant(settings, "local", pool)
    local.ask("What is an open-source LLM?")  # load the models; not a timed question
    _, baseline = timed(local)
    rows = []
    for name, endpoint, retries, timeout in SCENARIOS:
        with endpoint() as url:
            config = HostedConfig("hosted", "m", url, None, None, timeout, retries)
            hosted = OpenAICompatibleChatModel(config)
            chained = local.routed(fixed_chain(hosted, pool.get("local")))
            switch, total = timed(chained, falls_back=True)
        rows.append((name, switch, total))
        print(f"{name}: fallback after {switch:.2f} s, answer {total:.2f} s", file=sys.stderr)
    return baseline, rows


def render(baseline: float, rows: list[Row]) -> str:
    table = "\n".join(
        f"| {name} | {switch:.2f} s | {total:.2f} s |" for name, switch, total in rows
    )
    return f"""## Fallback: what a failing hosted backend adds (`bench/fallback.py`, {date.today()}, {os.cpu_count()} CPU cores)

Baseline: the local Qwen2.5-Coder-0.5B answering directly, median of {len(QUESTIONS)} questions:
{baseline:.2f} s per answer. Each row puts a failing hosted profile in front of it (scripted
OpenAI-compatible server on loopback). "Fallback starts after" is the time spent on the failing
backend (retrieval included, about 0.02 s): the overhead. Whole-answer times vary by a second
or so run to run on 2 cores.

| hosted backend failure | fallback starts after | whole answer |
|---|---|---|
{table}

Retries use the SDK's exponential backoff, so `max_retries` is the main cost of a dead
endpoint; a server that never answers costs its `timeout_s` times (retries + 1).
"""


def main() -> None:
    baseline, rows = measure()
    report = render(baseline, rows)
    print(report)
    write_section("fallback", report)


if __name__ == "__main__":
    main()
