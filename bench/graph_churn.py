"""Recall of kb's HNSW graph on real chunks, fresh and after churn, against exact search.

    python -m bench.graph_churn [--pages 100]

Ingests `--pages` pages of the Python 3.11 docs with kb's ingest and default embedder (as
bench/speed.py does), takes every vector of the index (chunks and windows), and builds kb's
graph over them. Then `ROUNDS` rounds (bench/scale_updates.py): each removes `CHURN` of the
vectors at random and adds them back under new ids (as a re-read document brings its chunks
back), with kb's graph upkeep between rounds. Recall@10 of the dev questions against an exact
search of the same live vectors: the graph fresh, and after the churn (with the share of it
masked). Synthetic vectors (bench/scale.py) are the worst case; this is what kb's own vectors do.
Writes the `graph-churn` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from assistant.settings import Settings
from assistant.wiring import build_embedder
from bench.report import write_section
from bench.scale_updates import CHURN, ROUNDS, churn_figures
from bench.speed import dev_questions, ingest_kb, python_docs
from index.faiss_store import FaissStore
from index.storage import load_index
from index.windows import vector_ids


def real_vectors(pages: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """(every vector of a kb index over `pages` doc pages, the dev questions' vectors)."""
    embedder = build_embedder(Settings())
    ingest_kb(python_docs(pages), work / "index", embedder)
    state = load_index(work / "index")
    ids = [v for c in state.chunks for v in vector_ids(c, state.windows.get(c, 0))]
    return state.store.vectors(ids), embedder.embed(dev_questions(200))


def recall_fresh(vectors: np.ndarray, queries: np.ndarray) -> tuple[FaissStore, float]:
    """kb's graph over `vectors` (ids 0..N-1), and its recall@10 against exact search."""
    store = FaissStore(vectors.shape[1], ann_threshold=1)
    store.add(list(range(len(vectors))), vectors)
    store.adopt(store.new_graph("build"), None)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [
        len({i for i, _ in store.search(q, 10)} & set(t)) / 10
        for q, t in zip(queries, exact, strict=True)
    ]
    return store, float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        vectors, queries = real_vectors(args.pages, Path(work))
    store, fresh = recall_fresh(vectors, queries)
    churned = churn_figures(store, vectors, queries, refill=lambda _, gone: vectors[gone])
    report = f"""### The graph on real chunks, fresh and after churn (`python -m bench.graph_churn --pages {args.pages}`, {date.today()})

{len(vectors):,} vectors (chunks and windows) of {args.pages} Python docs pages through kb's ingest,
{len(queries)} dev questions; kb's graph (M 32, efConstruction 80, efSearch 96); {ROUNDS} rounds of
{CHURN:.0%} removed and added back under new ids, kb's upkeep between rounds.

| graph | recall@10 against exact | share of the graph masked |
|---|---|---|
| fresh | {fresh:.3f} | 0 % |
| after churn | {churned["churn_recall@10"]:.3f} | {churned["churn_masked"]:.0%} |"""
    print(report)
    write_section("graph-churn", report)


if __name__ == "__main__":
    main()
