"""Which of kb's own modules a question (`kb ask`) or a file (`kb ingest`) passes through.

A module counts once when any of its functions runs during the command (imports alone do not
count), so the figure follows the code a reader must open to follow the work end to end.
Usage: python -m bench.module_path [--question Q] [--file F] [--before N,M]; prints both lists
and counts, and writes them to docs/benchmarks.md (`--before`: the counts of the layout before,
ingest then ask, for the table).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from bench.report import write_section

PRODUCT = ("ingest", "index", "assistant")
ROOT = Path(__file__).resolve().parent.parent


def _kb() -> Callable[[list[str]], Any]:
    """`kb`'s `run` (the CLI without its exit), wherever the layout of the day puts it."""
    for name in ("assistant.frontends.cli.main", "assistant.frontends.cli"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "run"):
            return module.run  # type: ignore[no-any-return]
    raise SystemExit("kb's CLI was not found")


def traced(command: list[str]) -> set[str]:
    """kb's modules whose functions ran while `kb <command>` ran, in this process."""
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        # A function's frame, not a module or class body running at import.
        if event == "call" and frame.f_code.co_flags & inspect.CO_NEWLOCALS:
            name = frame.f_globals.get("__name__", "")
            if name.split(".")[0] in PRODUCT:
                seen.add(name)

    run = _kb()
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        run(command)
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--question", default="What licence does Llama 2 use?")
    parser.add_argument("--file", type=Path, default=ROOT / "corpus" / "001_5c11a3054be18c61.txt")
    parser.add_argument("--before", help="the counts before a change: INGEST,ASK")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["KB_INDEX__DIR"] = str(Path(scratch) / "index")
        ingest = traced(["ingest", str(args.file)])
    os.environ.pop("KB_INDEX__DIR")
    ask = traced(["ask", args.question])
    for label, modules in (("kb ingest", ingest), ("kb ask", ask)):
        print(f"{label}: {len(modules)} modules")
        for name in sorted(modules):
            print(f"  {name}")
    write_section("module-path", _table(len(ingest), len(ask), args.before))


def _table(ingest: int, ask: int, before: str | None) -> str:
    """The counts as a table row, with the layout before when given."""
    was = [int(n) for n in before.split(",")] if before else None
    cells = [f"{was[i]} → {now}" if was else str(now) for i, now in enumerate((ingest, ask))]
    return (
        "| date | `kb ingest` one file | `kb ask` one question | command |\n|---|---|---|---|\n"
        f"| {date.today()} | {cells[0]} modules | {cells[1]} modules | "
        "`python -m bench.module_path` |"
    )


if __name__ == "__main__":
    main()
