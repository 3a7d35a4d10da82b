"""bench/scale.py's update figures: one document added to a built store, and recall after churn.

- **Add a document:** what an ingest of one document does to the vectors, timed from loading
  the saved store (a new ingest process) until a search finds the new vectors: load, add
  `DOC_VECTORS` vectors, save a new generation, load it and search. FAISS exact writes every
  vector again; FAISS with a graph writes the few new ones and hard-links the graph (kb since
  issue 36); Milvus inserts and flushes on the server.
- **Churn:** `ROUNDS` rounds, each removing `CHURN` of the vectors at random and adding as
  many new ones, with kb's graph upkeep between rounds as `kb ingest` does it (`graph_due`,
  then the new graph adopted); then recall@10 of the same queries against a brute-force
  search of the vectors live at the end, and how much of the graph is masked by then.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.faiss_store import FaissStore
from index.stores import VectorStore

DOC_VECTORS = 24  # one document: about a dozen chunks and their windows
ROUNDS = 10
CHURN = 0.02  # of the vectors, removed and as many added, per round: 20 % masked at the end
FIRST_NEW_ID = 10**12  # ids of vectors added by the bench, apart from the base's 0..N-1


def new_vectors(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    matrix = rng.normal(size=(count, dimension)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def add_document_s(store: VectorStore, work: Path) -> float:
    """Seconds for one document's vectors to be searchable after an ingest adds them."""
    vectors = new_vectors(np.random.default_rng(7), DOC_VECTORS, store.dimension)
    ids = list(range(FIRST_NEW_ID - DOC_VECTORS, FIRST_NEW_ID))
    after = work.parent / "after-one-document"
    after.mkdir()
    began = time.perf_counter()
    loaded = _reopen(store, work)
    loaded.add(ids, vectors)
    loaded.save(after)
    searched = _reopen(store, after)
    deadline = began + 600
    while not _finds(searched, vectors[0], ids[0]) and time.perf_counter() < deadline:
        time.sleep(0.05)  # Milvus: until the server searches what it flushed
    seconds = time.perf_counter() - began
    loaded.remove(ids)
    if isinstance(store, FaissStore):
        shutil.rmtree(after)
    return seconds


def _finds(store: VectorStore, vector: np.ndarray, wanted: int) -> bool:
    hits = store.search(vector, 1)
    return bool(hits) and hits[0][0] == wanted


def _reopen(store: VectorStore, folder: Path) -> VectorStore:
    """The store as a new process opens it from `folder` (Milvus: the same server-side one)."""
    if isinstance(store, FaissStore):
        return FaissStore.load(folder, store.ann_threshold, store.search_threads)
    return store


Refill = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def churn_figures(
    store: VectorStore, base: np.ndarray, queries: np.ndarray, refill: Refill | None = None
) -> dict[str, Any]:
    """Recall@10 after `ROUNDS` rounds of removals and additions, graph upkeep between them;
    `refill` gives the vectors added for those removed (default: new random ones)."""
    rng = np.random.default_rng(11)
    live = np.ones(len(base), dtype=bool)
    added_ids: list[int] = []
    added: list[np.ndarray] = []
    upkeep = 0.0
    for _ in range(ROUNDS):
        count = int(CHURN * len(base))
        gone = rng.choice(np.flatnonzero(live), size=count, replace=False)
        live[gone] = False
        store.remove(gone.tolist())
        fresh = refill(rng, gone) if refill else new_vectors(rng, count, base.shape[1])
        ids = list(range(FIRST_NEW_ID + len(added_ids), FIRST_NEW_ID + len(added_ids) + count))
        store.add(ids, fresh)
        added_ids += ids
        added.append(fresh)
        upkeep += _graph_upkeep(store)
    truth = _truth(base, live, np.asarray(added_ids), np.vstack(added), queries)
    hits = [[i for i, _ in store.search(q, 10)] for q in queries]
    found = np.mean([len(set(h) & set(t)) / 10 for h, t in zip(hits, truth, strict=True)])
    graph = store.graph if isinstance(store, FaissStore) else None
    return {
        "churn_recall@10": float(found),
        "churn_masked": len(graph.removed) / len(graph.ids) if graph else None,
        "churn_upkeep_s": upkeep,
    }


def _graph_upkeep(store: VectorStore) -> float:
    """kb's compaction, inline: the graph work the round left, if any; its seconds."""
    if not isinstance(store, FaissStore) or (work := store.graph_due()) is None:
        return 0.0
    began = time.perf_counter()
    built_on = store.graph.name if store.graph else None
    store.adopt(store.new_graph(work), built_on)
    return time.perf_counter() - began


def _truth(
    base: np.ndarray,
    live: np.ndarray,
    added_ids: np.ndarray,
    added: np.ndarray,
    queries: np.ndarray,
) -> list[list[int]]:
    """Each query's exact top 10 among the live base vectors and the added ones."""
    from bench.scale import BLOCK

    best: list[list[tuple[float, int]]] = [[] for _ in queries]
    for start in range(0, len(base), BLOCK):
        block = np.asarray(base[start : start + BLOCK])
        _merge(
            best,
            queries @ block.T,
            np.arange(start, start + len(block)),
            live[start : start + len(block)],
        )
    _merge(best, queries @ added.T, added_ids, np.ones(len(added_ids), dtype=bool))
    return [[i for _, i in row] for row in best]


def _merge(
    best: list[list[tuple[float, int]]], scores: np.ndarray, ids: np.ndarray, keep: np.ndarray
) -> None:
    scores = np.where(keep[None, :], scores, -np.inf)
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    for row, (found, columns) in enumerate(zip(best, top, strict=True)):
        pairs = found + [(float(scores[row, c]), int(ids[c])) for c in columns]
        best[row] = sorted(pairs, reverse=True)[:10]
