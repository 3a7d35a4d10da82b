"""Writing threads: llama-cpp-python's own default (`cpu_count() // 2`) against kb's (one per
physical core, `assistant.backends.llms.cpu_threads`), same model, same prompt, one run.

Each setting loads the model, reads a ~1,000-token prompt (the size of four whole passages) and
a ~400-token one, writes 64 tokens, three times, and the shorter one again while another
process keeps one core busy; reports the medians of
prompt tok/s and written tok/s, with the CPU's model name and flags. Writes its section of
docs/benchmarks.md.

    python -m bench.threads [--model .kb/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from assistant.backends.llms.cpu_threads import writing_threads
from assistant.backends.llms.llama_probe import PROBE_TEXT
from bench.report import write_section
from tools import llama_build

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / ".kb" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def cpu_description() -> str:
    """The CPU's model name and its SIMD flags that matter to llama.cpp."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln), "?"
    )
    flags = llama_build.cpu_flags(text)
    simd = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))
    return f"{model}, {multiprocessing.cpu_count()} CPUs, {' '.join(simd) or 'no AVX'}"


def _timed(llama: Any, prompt: str, write: int) -> tuple[float, float]:
    """Prompt tok/s and written tok/s of one completion, from a cold cache."""
    llama.reset()
    tokens = len(llama.tokenize(prompt.encode()))
    started = time.perf_counter()
    first: float | None = None
    written = 0
    for _ in llama.create_completion(prompt, max_tokens=write, temperature=0, stream=True):
        first = first or time.perf_counter()
        written += 1
    end = time.perf_counter()
    assert first is not None
    return tokens / (first - started), (written - 1) / max(end - first, 1e-6)


@contextmanager
def one_core_busy() -> Iterator[None]:
    """Another process spinning on a CPU meanwhile: a page embedding another user's question,
    an ingest, a compile."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def measure(model: Path, threads: int, words: int) -> tuple[float, float]:
    from llama_cpp import Llama

    llama = Llama(model_path=str(model), n_ctx=4096, n_threads=threads, verbose=False)
    prompt = " ".join((PROBE_TEXT * 40).split()[:words])
    runs = [_timed(llama, prompt, 64) for _ in range(3)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args()
    rows = []
    settings = (
        ("llama-cpp-python's default, cpu_count() // 2", max(multiprocessing.cpu_count() // 2, 1)),
        ("kb's default, one per physical core", writing_threads()),
    )
    for name, threads in settings:
        for words in (750, 300):
            read, write = measure(args.model, threads, words)
            rows.append(f"| {name} | {threads} | ~{words * 4 // 3} | {read:.0f} | {write:.1f} |")
            print(rows[-1], flush=True)
    for name, threads in settings:  # the page's concurrency: the CPU is not always the model's
        with one_core_busy():
            read, write = measure(args.model, threads, 300)
        rows.append(
            f"| {name}, one core busy elsewhere | {threads} | ~400 | {read:.0f} | {write:.1f} |"
        )
        print(rows[-1], flush=True)
    write_section(
        "threads",
        "\n".join(
            [
                f"## Writing threads (`bench/threads.py`, {date.today()}, {args.model.name})",
                "",
                f"CPU: {cpu_description()}. Medians of three completions (64 tokens written), "
                "cold prompt cache each time.",
                "",
                "| threads chosen by | n_threads | prompt tokens | prompt tok/s | written tok/s |",
                "|---|---|---|---|---|",
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    main()
