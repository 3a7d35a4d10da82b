"""docs/benchmarks.md is shared by several benchmark scripts: each rewrites only its section.

A section lives between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; a new one is appended.
Text outside the markers (hand-written notes, `kb eval` figures) is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nWritten by `make bench`; each script rewrites only its own section.\n"


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    block = f"<!-- bench:{name} -->\n{text.strip()}\n<!-- /bench:{name} -->"
    current = path.read_text() if path.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(exist_ok=True)
    path.write_text(updated)
