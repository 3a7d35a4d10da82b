"""What one `kb watch` batch costs before reading anything, at 100,000 files: planning (which
files changed) when 10 of them did. Four ways, in the same run on the same files: every file
hashed (as before stat-first, and as still for an index written before times were recorded)
or one `os.stat` per file and only a file whose size or time moved hashed; each with the
`.kb-collection`/`.kb-local-only` markers looked up per file (as before) or once per folder.

    python -m bench.watch_scale [--files 100000] [--changed 10] [--rounds 2]

The files (small text, ~200 bytes, in folders of 1,000) are created in a temporary folder and
the index's file records are built directly with their real sha256, size and time (no
embedding: planning reads only the records). Also timed: discovery, the folder walk every
batch starts with. Page cache warm (the files were just written): a cold cache, or larger
files, make hashing dearer still. Writes its section of docs/benchmarks.md (`watch-scale`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import partial
from itertools import product
from pathlib import Path
from typing import TypeVar
from unittest.mock import patch

import index.planning as planning
from bench.report import write_section
from index.config import IndexConfig
from index.hashing import file_sha256
from index.manifest import Manifest
from index.planning import IngestChoices, IngestPlan, plan_ingest
from index.storage import FileRecord, IndexState
from index.stores import StoreSpec
from ingest.discovery import discover, is_local_only, marked_collection, source_name
from ingest.furniture import VERSION as CLEANING_VERSION

PER_FOLDER = 1000
T = TypeVar("T")
HOUR_NS = 3600 * 10**9  # files dated an hour back: well past planning.RACY_NS


def make_files(root: Path, count: int) -> list[Path]:
    """`count` small text files under `root`, in folders of PER_FOLDER, dated an hour back."""
    then = time.time_ns() - HOUR_NS
    paths = []
    for n in range(count):
        path = root / f"team-{n // PER_FOLDER:03d}" / f"note-{n:06d}.md"
        if n % PER_FOLDER == 0:
            path.parent.mkdir(parents=True)
        path.write_text(f"# Note {n}\n\n" + f"Note {n} says what team {n // PER_FOLDER} does. " * 4)
        os.utime(path, ns=(then, then))
        paths.append(path)
    return paths


def records(paths: list[Path], base: Path) -> dict[str, FileRecord]:
    """The records an index would hold for `paths`, with sha256, size and time."""
    made = {}
    for n, path in enumerate(paths):
        stat = path.stat()
        made[source_name(path, base)] = FileRecord(
            file_sha256(path),
            (n,),
            size=stat.st_size,
            cleaning=CLEANING_VERSION,
            mtime_ns=stat.st_mtime_ns,
        )
    return made


def change(paths: list[Path], count: int) -> list[Path]:
    """Rewrite `count` files spread over the folders (new bytes, a second later)."""
    changed = paths[:: len(paths) // count][:count]
    for path in changed:
        mtime = path.stat().st_mtime_ns + 10**9
        path.write_text(path.read_text() + "Changed.\n")
        os.utime(path, ns=(mtime, mtime))
    return changed


def _state(files: dict[str, FileRecord]) -> IndexState:
    return IndexState(Manifest("bench", 1, {}), StoreSpec().create(1), files=files)


def _counting(calls: list[Path]) -> Callable[[Path], str]:
    """`file_sha256` that also notes each path it hashes."""

    def counted(path: Path) -> str:
        calls.append(path)
        return file_sha256(path)

    return counted


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _per_file(_: planning.FolderMarkers, path: Path) -> tuple[bool, str | None]:
    """Markers looked up for every file, as planning did before `FolderMarkers`."""
    return is_local_only(path), marked_collection(path)


# (row, records with times, markers once per folder)
WAYS = (
    ("before: every file hashed, markers per file", False, False),
    ("stat first, markers per file", True, False),
    ("every file hashed (index without times), markers per folder", False, True),
    ("now: stat first, markers per folder", True, True),
)


Timings = tuple[dict[str, list[float]], dict[str, int]]  # seconds per round, files hashed


def measure(count: int, changed_count: int, rounds: int) -> str:
    """The section's Markdown."""
    load = os.getloadavg()[0]  # a shared machine's other work slows every way alike
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        paths = make_files(root / "docs", count)
        known = {True: records(paths, root)}
        made_s = time.perf_counter() - started
        known[False] = {source: replace(r, mtime_ns=None) for source, r in known[True].items()}
        changed = change(paths, changed_count)
        walk_s, (files, folders, _) = _timed(lambda: discover([root / "docs"], (), root))
        config = IndexConfig(root / "index", base=root)
        timings = _each_way(
            rounds,
            known,
            partial(
                plan_ingest,
                files=files,
                folders=folders,
                config=config,
                choices=IngestChoices(None, ()),
            ),
            changed,
        )
    text = _table(count, changed_count, made_s, walk_s, timings)
    return f"{text}\n\nLoad average at the start: {load:.1f}."


def _each_way(
    rounds: int,
    known: dict[bool, dict[str, FileRecord]],
    plan: Callable[..., IngestPlan],
    changed: list[Path],
) -> Timings:
    """Plan the batch each way of WAYS, `rounds` times in turn."""
    calls: list[Path] = []
    seconds: dict[str, list[float]] = {way: [] for way, _, _ in WAYS}
    hashes: dict[str, int] = {}
    with patch.object(planning, "file_sha256", _counting(calls)):
        for _, (way, timed, per_folder) in product(range(rounds), WAYS):
            calls.clear()
            markers = planning.FolderMarkers.of if per_folder else _per_file
            with patch.object(planning.FolderMarkers, "of", markers):
                took, made = _timed(partial(plan, _state(known[timed])))
            assert sorted(w.path for w in made.to_read) == sorted(changed), way
            seconds[way].append(took)
            hashes[way] = len(calls)
    return seconds, hashes


def _table(
    count: int,
    changed: int,
    made_s: float,
    walk_s: float,
    timings: Timings,
) -> str:
    seconds, hashes = timings
    rounds = len(next(iter(seconds.values())))
    rows = [
        f"| {way} | {hashes[way]:,} | {statistics.median(took):.1f} | "
        f"{statistics.median(took) / count * 1e6:.0f} |"
        for way, took in seconds.items()
    ]
    return "\n".join(
        [
            f"### Watching {count:,} files: stat before hashing",
            "",
            f"`python -m bench.watch_scale` ({date.today()}, this machine): {count:,} files of "
            f"~200 bytes in {count // PER_FOLDER} folders, {changed} of them changed; planning "
            f"one batch, median of {rounds} rounds, page cache warm (creating the files and "
            f"their records took {made_s:.0f} s).",
            "",
            "| planning one batch | files hashed | seconds | µs per file |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Every batch also walks the folders (discovery): {walk_s:.1f} s.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    text = measure(args.files, args.changed, args.rounds)
    print(text)
    write_section("watch-scale", text)


if __name__ == "__main__":
    main()
