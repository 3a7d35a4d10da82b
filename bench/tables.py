"""Tables, measured: questions answered from cells (eval/tables.jsonl) over the corpus plus
three table documents (tests/data/tables: a CSV, an HTML page, an Excel workbook).

"before" writes every table the way kb wrote HTML tables before issue 19: each row its cells
joined by " | ", the header one more row (CSV and Excel, which kb could not read then, get the
same treatment); "after" is kb today: each row "column: value; ...". Same readers, same index
settings (kb's defaults), only the row text differs. Retrieval metrics, and answers by
`--backend` (default `local-fast`, the 0.5B model) unless `--no-answers`.

    python -m bench.tables [--no-answers] [--backend NAME]   # ~10 minutes with answers, 2 cores
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from assistant.evaluation import evaluate, load_questions
from assistant.settings import Settings
from assistant.wiring import build_assistant, build_embedder, build_retriever, ingest
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "tables.jsonl"
METRICS = ("hit@1", "hit@5", "mrr@10", "evidence_ok", "answer_ok")


def _cells_only(rows: Iterable[Sequence[object]], has_header: bool = True) -> list[str]:
    """Before: each row's cells joined by " | ", the header a row like the others."""
    cleaned = [[" ".join(str(c).split()) for c in row if c is not None] for row in rows]
    return [" | ".join(cell for cell in row if cell) for row in cleaned if any(row)]


def measure(style: Callable[..., list[str]] | None, answers: str | None) -> dict[str, Any]:
    """Index corpus/ and the table documents in a fresh home (row text by `style`, None: kb's
    own) and run the eval set."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        shutil.copytree(ROOT / "corpus", home / "corpus")
        shutil.copytree(ROOT / "tests" / "data" / "tables", home / "tables")
        # Only the index moves; the models stay the checkout's (.kb/models).
        with mock.patch.dict("os.environ", {"KB_INDEX__DIR": str(home / "index")}):
            settings = Settings()
            patches = [
                mock.patch(f"ingest.{m}.table_lines", style) for m in ("formats", "html_text")
            ]
            for patch in patches if style else []:
                patch.start()
            try:
                ingest(settings, [home / "corpus", home / "tables"], rebuild=True)
            finally:
                mock.patch.stopall()
            questions = load_questions(QUESTIONS)
            if answers:
                assistant = build_assistant(settings, answers)
                return evaluate(assistant.retriever, assistant, questions)
            return evaluate(build_retriever(settings, build_embedder(settings)), None, questions)


def _cell(before: Any, after: Any) -> str:
    return "n/a" if before is None else f"{before:.3f} → {after:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-answers", action="store_true")
    parser.add_argument("--backend", default="local-fast")
    args = parser.parse_args()
    answers = None if args.no_answers else args.backend
    before, after = measure(_cells_only, answers), measure(None, answers)
    lines = [
        "## Issue 19: tables answered from their cells",
        "",
        f"`python -m bench.tables`, {date.today()}, 2 CPU cores: the {len(load_questions(QUESTIONS))} "
        "questions of eval/tables.jsonl over corpus/ plus tests/data/tables (licences.csv, "
        "context.html, prices.xlsx), kb's default settings"
        + (f", answers by `{answers}`" if answers else "")
        + '. before: rows as cells joined by " | " (kb\'s HTML tables until now); after: each '
        'row "column: value; ...". A hit: a passage holding the row\'s key cell.',
        "",
        "| metric | before → after |",
        "|---|---|",
        *(f"| {m} | {_cell(before.get(m), after.get(m))} |" for m in METRICS),
    ]
    text = "\n".join(lines)
    print(text)
    write_section("tables", text)


if __name__ == "__main__":
    main()
