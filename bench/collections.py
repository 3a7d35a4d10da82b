"""Collections, measured: does scoping a question to its collection cost recall?

The corpus is split into two collections, the five seed articles (`articles`) and the model
cards, licence and terms (`cards`), and indexed once with kb's default settings. Each question
with gold files all in one collection is retrieved twice: over the whole index, and scoped to
that collection (`kb retrieve --collection`). Retrieval metrics of EVAL.md on eval/tune.jsonl
(where choices are made) and, for information, eval/heldout.jsonl and eval/second.jsonl.

    python -m bench.collections   # about a minute on 2 cores; writes its docs/benchmarks.md section
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from assistant.evaluation import first_hit_rank, load_questions, retrieval_metrics, retrieval_query
from assistant.settings import Settings
from assistant.wiring import build_embedder, index_config
from bench.report import write_section
from index.builder import ingest_paths
from index.retriever import HybridRetriever
from index.storage import load_index

ROOT = Path(__file__).resolve().parent.parent
SPLITS = ["tune", "heldout", "second"]


def _collection(name: str) -> str:
    return "articles" if name[:3].isdigit() else "cards"


def build(home: Path) -> HybridRetriever:
    """The corpus in two collections, in a fresh index under `home`."""
    settings = Settings()
    embedder = build_embedder(settings)
    for name in ("articles", "cards"):
        (home / name).mkdir()
    for path in (ROOT / "corpus").iterdir():
        if path.name != "SOURCES.md":
            shutil.copy(path, home / _collection(path.name) / path.name)
    index_dir = home / "index"
    for name in ("articles", "cards"):
        ingest_paths(
            [home / name],
            replace(index_config(settings), dir=index_dir, base=home),
            embedder,
            collection=name,
        )
    return HybridRetriever(load_index(index_dir), embedder)


def _ranks(retriever: HybridRetriever, items: list[dict[str, Any]]) -> list[int | None]:
    return [
        first_hit_rank(
            [h.chunk.text for h in retriever.retrieve(retrieval_query(item), 10)],
            item["gold_snippets"],
        )
        for item in items
    ]


def measure(retriever: HybridRetriever, split: str) -> dict[str, Any]:
    """Unscoped and scoped metrics over the split's questions whose gold is in one collection."""
    items = [
        item
        for item in load_questions(ROOT / "eval" / f"{split}.jsonl")
        if item.get("gold_files") and len({_collection(f) for f in item["gold_files"]}) == 1
    ]
    scoped: list[int | None] = []
    for item in items:
        scope = retriever.scoped({_collection(item["gold_files"][0])})
        scoped += _ranks(scope, [item])
    return {
        "questions": len(items),
        "all": retrieval_metrics(_ranks(retriever, items)),
        "scoped": retrieval_metrics(scoped),
    }


def _row(split: str, result: dict[str, Any]) -> str:
    cells = [
        f"{result['all'][k]:.3f} → {result['scoped'][k]:.3f}" for k in ("hit@1", "hit@5", "mrr@10")
    ]
    return f"| {split} | {result['questions']} | " + " | ".join(cells) + " |"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        retriever = build(Path(folder))
        results = {split: measure(retriever, split) for split in SPLITS}
    lines = [
        "## Collections: scoping a question to its collection",
        "",
        f"`python -m bench.collections`, {date.today()}: corpus/ in two collections (the five "
        "seed articles; the model cards, licence and terms), kb's default settings. Each "
        "question whose gold files are in one collection, retrieved over the whole index → "
        "scoped to that collection (`--collection`). tune is where choices are made.",
        "",
        "| set | questions | hit@1 all → scoped | hit@5 all → scoped | mrr@10 all → scoped |",
        "|---|---|---|---|---|",
        *(_row(split, result) for split, result in results.items()),
    ]
    text = "\n".join(lines)
    print(text)
    write_section("collections", text)


if __name__ == "__main__":
    main()
