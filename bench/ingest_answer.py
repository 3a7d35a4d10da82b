"""Ingest and answer speed, side by side with baselines, in one run; writes docs/benchmarks.md.

- ingest: a full build (the baseline) against an incremental `kb ingest` with nothing changed;
- retrieval: dense-only FAISS (the baseline) against kb's hybrid dense + BM25 fusion, on eval/dev.jsonl;
- answers: time to first token and total for a few dev questions with the default local model.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from assistant.evaluation import first_hit_rank, retrieval_query
from assistant.settings import Settings
from assistant.wiring import build_assistant
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    json.loads(line) for line in (ROOT / "eval/dev.jsonl").read_text().splitlines() if line
]


def _timed_kb(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def bench_ingest() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "KB_INDEX__DIR": folder}
        full = _timed_kb(env, "ingest", "--rebuild")
        again = _timed_kb(env, "ingest")
    return {"full_s": full, "incremental_s": again}


def _ranks(search: object) -> list[int | None]:
    answerable = [q for q in QUESTIONS if q["type"] != "unanswerable"]
    return [first_hit_rank(search(retrieval_query(q)), q["gold_snippets"]) for q in answerable]  # type: ignore[operator]


def _quality(ranks: list[int | None]) -> dict[str, float]:
    def hit(k: int) -> float:
        return sum(r is not None and r <= k for r in ranks) / len(ranks)

    return {"hit@1": hit(1), "hit@5": hit(5), "mrr@10": sum(1 / r for r in ranks if r) / len(ranks)}


def bench_retrieval(assistant: object) -> dict[str, dict[str, float]]:
    retriever = assistant.retriever  # type: ignore[attr-defined]
    state = retriever.state

    def dense(query: str) -> list[str]:
        return [
            state.chunks[i].text for i, _ in state.store.search(retriever.embed_query(query), 10)
        ]

    def hybrid(query: str) -> list[str]:
        return [h.chunk.text for h in retriever.retrieve(query, 10)]

    retriever.retrieve("warm up", 1)  # load the embedder outside the timing
    started = time.perf_counter()
    hybrid_ranks = _ranks(hybrid)
    per_query = (time.perf_counter() - started) / len(hybrid_ranks)
    return {
        "dense only (baseline)": _quality(_ranks(dense)),
        "kb hybrid": {**_quality(hybrid_ranks), "ms_per_query": per_query * 1000},
    }


def bench_answers(
    assistant: object, ids: tuple[str, ...] = ("q01", "q19", "q05")
) -> dict[str, float]:
    firsts, totals = [], []
    for item in (q for q in QUESTIONS if q["id"] in ids):
        answer = assistant.ask(item["question"])  # type: ignore[attr-defined]
        totals.append(answer.timings["total_s"])
        if answer.timings["first_token_s"] is not None:
            firsts.append(answer.timings["first_token_s"])
    return {
        "first_token_median_s": statistics.median(firsts),
        "total_median_s": statistics.median(totals),
    }


def render(
    ingest: dict[str, float], retrieval: dict[str, dict[str, float]], answers: dict[str, float]
) -> str:
    rows = "\n".join(
        f"| {name} | {q['hit@1']:.3f} | {q['hit@5']:.3f} | {q['mrr@10']:.3f} |"
        for name, q in retrieval.items()
    )
    return f"""Written by `bench/ingest_answer.py` on {date.today()}, {platform.machine()},
{os.cpu_count()} CPU cores, Python {platform.python_version()}, no GPU unless stated.
Corpus: `corpus/` (9 files). Questions: `eval/dev.jsonl` ({len(QUESTIONS)} questions).

## Ingest (whole `kb ingest` command, process start included)

| run | seconds |
|---|---|
| full build, `kb ingest --rebuild` (baseline) | {ingest["full_s"]:.2f} |
| incremental, nothing changed | {ingest["incremental_s"]:.2f} |

The incremental run takes {ingest["incremental_s"] / ingest["full_s"]:.0%} of the full build: it hashes
the files and never loads the embedder.

## Retrieval quality and speed (same index, same questions)

| retriever | hit@1 | hit@5 | mrr@10 |
|---|---|---|---|
{rows}

kb hybrid: {retrieval["kb hybrid"]["ms_per_query"]:.1f} ms per query (embedding the query included).

## Answers with the default local model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, CPU)

Median over dev questions q01, q19, q05: first token after {answers["first_token_median_s"]:.1f} s,
whole answer after {answers["total_median_s"]:.1f} s.
"""


def main() -> None:
    ingest = bench_ingest()
    assistant = build_assistant(Settings())
    retrieval = bench_retrieval(assistant)
    answers = bench_answers(assistant)
    report = render(ingest, retrieval, answers)
    print(report)
    write_section("ingest-answer", report)


if __name__ == "__main__":
    main()
