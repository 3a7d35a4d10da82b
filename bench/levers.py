"""Retrieval levers, measured: chunk size and overlap, embedding windows, fusion method and
weights.

Each variant builds its own index of corpus/ in a temporary folder (same embedder) and runs the
EVAL.md retrieval metrics on eval/tune.jsonl, where choices are made, and, for information only,
on eval/heldout.jsonl and eval/second.jsonl. kb's defaults are the variant marked "kb".

    python -m bench.levers        # about 2 minutes on 2 cores; writes its docs/benchmarks.md section
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from assistant.evaluation import evaluate, load_questions
from bench.report import write_section
from index.builder import ingest_paths
from index.config import IndexConfig
from index.embedders import SentenceTransformerEmbedder, packaged_minilm_path
from index.retriever import FusionParams, HybridRetriever
from index.storage import load_index
from index.windows import WindowParams
from ingest.splitter import ChunkingParams

ROOT = Path(__file__).resolve().parent.parent

SPLITS = ["tune", "heldout", "second"]
WINDOWS = WindowParams(packaged_minilm_path() / "tokenizer.json")
CHUNKINGS = {  # chunking, and embedding windows for chunks longer than MiniLM reads
    "100/50/30": (ChunkingParams(100, 50, 30), None),
    "200/120/40": (ChunkingParams(200, 120, 40), None),
    "250/150/50": (ChunkingParams(250, 150, 50), None),
    "300/180/60": (ChunkingParams(300, 180, 60), None),
    "250/150/50 + windows": (ChunkingParams(250, 150, 50), WINDOWS),
    "300/180/60 + windows": (ChunkingParams(300, 180, 60), WINDOWS),
}
FUSIONS = {
    "rrf k=60, 20 candidates": FusionParams(20, "rrf"),
    "dense only": FusionParams(40, "weighted", 1.0),
    "BM25 only": FusionParams(40, "weighted", 0.0),
    "weighted 0.5": FusionParams(40, "weighted", 0.5),
    "weighted 0.6": FusionParams(40, "weighted", 0.6),
    "weighted 0.7": FusionParams(40, "weighted", 0.7),
    "weighted 0.8": FusionParams(40, "weighted", 0.8),
}
BASELINE = ("200/120/40", "rrf k=60, 20 candidates")  # kb before this work
CHOSEN = ("300/180/60 + windows", "weighted 0.6")


def measure(folder: Path) -> list[tuple[str, str, dict[str, dict[str, Any]]]]:
    embedder = SentenceTransformerEmbedder(packaged_minilm_path(), "all-MiniLM-L6-v2", "cpu")
    questions = {s: load_questions(ROOT / "eval" / f"{s}.jsonl") for s in SPLITS}
    rows = []
    for chunk_name, (params, windows) in CHUNKINGS.items():
        index_dir = folder / chunk_name.replace("/", "-").replace(" + ", "-")
        ingest_paths(
            [ROOT / "corpus"],
            IndexConfig(index_dir, params, windows=windows, exclude=["SOURCES.md"]),
            embedder,
            rebuild=True,
        )
        state = load_index(index_dir)
        for fusion_name, fusion in FUSIONS.items():
            retriever = HybridRetriever(state, embedder, fusion)
            scores = {s: evaluate(retriever, None, q) for s, q in questions.items()}
            rows.append((chunk_name, fusion_name, scores))
            print(chunk_name, fusion_name, _cells(scores), flush=True)
    return rows


def _cells(scores: dict[str, dict[str, Any]]) -> str:
    return " | ".join(f"{scores[s]['hit@5']:.3f} / {scores[s]['mrr@10']:.3f}" for s in SPLITS)


def render(rows: list[tuple[str, str, dict[str, dict[str, Any]]]]) -> str:
    lines = [
        f"## Retrieval levers (`bench/levers.py`, {date.today()}, tuned on eval/tune.jsonl)",
        "",
        "hit@5 / MRR@10 per question set. Choices are made on *tune* only; *heldout* and "
        "*second* (written by someone who had not seen the code or dev.jsonl) are reported.",
        "Chunking is max/min/overlap tokens.",
        "",
        "| chunking | fusion | tune | heldout | second | |",
        "|---|---|---|---|---|---|",
    ]
    for chunk_name, fusion_name, scores in rows:
        mark = {BASELINE: "baseline", CHOSEN: "**kb**"}.get((chunk_name, fusion_name), "")
        lines.append(f"| {chunk_name} | {fusion_name} | {_cells(scores)} | {mark} |")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(Path(folder))
    report = render(rows)
    print(report)
    write_section("levers", report)


if __name__ == "__main__":
    main()
