"""What the audit log costs an answer: one append (p50/p95, one writer and four at once, the
file locked each time and fsynced), the bytes of a record, and `kb audit verify` over the
whole log, for a log of 1,000 and of 10,000 records. The baseline in the same run is the
same write without the lock, chain and fsync (a plain JSON Lines append), so the difference
is what tamper evidence and crash safety cost. Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from assistant.audit.log import AuditLog
from bench.report import write_section

PASSAGES = 4  # kb gives the model four passages by default


def sample_record(n: int) -> dict[str, Any]:
    """A record shaped like a real answer's (docs/audit.md), its question numbered."""
    passage = {"file": "corpus/001_5c11a3054be18c61.txt", "chunk_id": 882108894589323908}
    return {
        "kind": "answer",
        "surface": "api",
        "caller": "support-bot",
        "scope": ["handbook"],
        "question": f"Why do privacy and compliance push teams on-premise? ({n})",
        "generation": "gen-20261207T012311-68945b27",
        "passages": [passage | {"file_sha256": "d3" * 32}] * PASSAGES,
        "backend": "local",
        "model": "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M",
        "gguf_sha256": "cc" * 32,
        "refused": False,
        "route": {"mode": "local", "why": "chosen", "personal_data": [], "local_only": []},
        "timings": {"retrieve_s": 1.2, "first_token_s": 20.1, "total_s": 25.6},
        "tokens": {"prompt_tokens": 1114, "completion_tokens": 119},
    }


def _timed(write: Callable[[dict[str, Any]], object], count: int, writers: int) -> list[float]:
    """Milliseconds per write, `count` writes shared by `writers` threads."""

    def one(n: int) -> float:
        started = time.perf_counter()
        write(sample_record(n))
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(max_workers=writers) as pool:
        return list(pool.map(one, range(count)))


def _plain(path: Path) -> Callable[[dict[str, Any]], None]:
    """The baseline: one JSON line appended, no lock, chain or fsync."""

    def write(record: dict[str, Any]) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    return write


def _row(name: str, millis: list[float]) -> str:
    cuts = statistics.quantiles(millis, n=20)
    return f"| {name} | {statistics.median(millis):.2f} | {cuts[18]:.2f} |"


def measure(counts: list[int]) -> str:
    """The section's Markdown: appends, then verify, per log size."""
    lines = ["| write (ms per answer) | p50 | p95 |", "|---|---|---|"]
    verify = ["| log | records | bytes per record | `verify` (s) |", "|---|---|---|---|"]
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            log = AuditLog(Path(folder) / "audit", secrets=[])
            base = Path(folder) / "plain.jsonl"
            for writers in (1, 4):
                lines.append(
                    _row(
                        f"plain JSON line, {writers} writer(s), {count}",
                        _timed(_plain(base), count, writers),
                    )
                )
                lines.append(
                    _row(
                        f"audit log, {writers} writer(s), {count}",
                        _timed(log.append, count, writers),
                    )
                )
            started = time.perf_counter()
            check = log.verify()
            took = time.perf_counter() - started
            size = sum(p.stat().st_size for p in log.files())
            verify.append(
                f"| {count * 2} records | {check.records} | {size // check.records} | {took:.2f} |"
            )
    return "\n".join([*lines, "", *verify])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    body = measure(args.counts)
    text = f"`python -m bench.audit_log` ({date.today()}, this machine):\n\n{body}"
    print(text)
    write_section("audit-log", text)


if __name__ == "__main__":
    main()
