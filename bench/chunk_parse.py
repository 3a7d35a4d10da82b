"""What loading chunks.jsonl leaves in a kb process: read whole then split (kb before issue 36)
against a line at a time (`index.storage.read_chunks`), side by side in one run.

    python -m bench.chunk_parse [--chunks 300000]

Writes N chunks to a temporary chunks.jsonl, each a real chunk of the current index (.kb/index)
with a word of its own appended, then parses it each way in a fresh process (twice, in turn)
and reports the process's anonymous memory after the parse and its peak (VmHWM).
Writes the `chunk-parse` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.report import write_section
from index import storage
from ingest.models import Chunk

WAYS = ("whole", "lines")


def write_chunks(folder: Path, count: int) -> None:
    real = list(storage.load_index(Path(".kb/index")).chunks.values())
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
        for n in range(count):
            chunk = real[n % len(real)]
            copy = dataclasses.replace(chunk, id=n, text=f"{chunk.text} zq{n}")
            out.write(storage._chunk_to_json(copy) + "\n")


def parse(way: str, folder: Path) -> dict[str, float]:
    """One way's parse in this process: anonymous MB grown, and the peak RSS, in MB."""
    before = _status("RssAnon")
    if way == "whole":  # kb's load before issue 36, verbatim
        lines = (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        chunks = {c.id: c for c in map(_plain_chunk, filter(None, lines))}
        del lines
    else:
        chunks = storage.read_chunks(folder)
    assert chunks
    return {"anon_mb": (_status("RssAnon") - before) / 1024, "peak_mb": _status("VmHWM") / 1024}


def _plain_chunk(line: str) -> Chunk:
    data = json.loads(line)
    data["heading_path"] = tuple(data["heading_path"])
    return Chunk(**data)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(count: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as work:
        write_chunks(Path(work), count)
        for _ in range(2):
            for way in WAYS:
                command = [sys.executable, "-m", "bench.chunk_parse", "--child", way, work]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                results[way].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def render(count: int, results: dict[str, list[dict[str, float]]]) -> str:
    rows = "\n".join(
        f"| {way} | {max(r['anon_mb'] for r in runs):,.0f} | {max(r['peak_mb'] for r in runs):,.0f} |"
        for way, runs in results.items()
    )
    return f"""### Loading chunks.jsonl (`python -m bench.chunk_parse --chunks {count}`, {date.today()})

{count:,} chunks (real chunk texts of the corpus, each with a word of its own), parsed in a
fresh process each way, twice; the larger of the two runs. "whole": read the file, then split
and parse it (kb before issue 36); "lines": a line at a time, with the strings chunks repeat
interned (`index.storage.read_chunks`). Both build `Chunk`s with slots (since issue 36 too).

| parse | process memory after, MB (anonymous) | peak RSS, MB |
|---|---|---|
{rows}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=300_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(parse(args.child[0], Path(args.child[1]))))
        return
    report = render(args.chunks, measure(args.chunks))
    print(report)
    write_section("chunk-parse", report)


if __name__ == "__main__":
    main()
