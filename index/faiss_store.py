"""Inner-product vector store over FAISS, keyed by chunk id: exact, then a graph plus the new.

Below `ann_threshold` vectors every vector is in an exact `IndexIDMap2(IndexFlatIP)`: recall 1,
and fast enough. From there on the bulk is in an HNSW graph (`index.hnsw_graph`) that is never
changed once written: vectors added since go to the exact index beside it and removed ones are
masked, so a save writes only what changed and hard-links the graph, and an upload into a
million-vector index is searchable in seconds. `graph_due` says when to place the new vectors
into a new graph (`extend`) or build one afresh (`rebuild`: masked vectors still cost search
time); `index.compaction` does either outside the writer lock and switches to the result.

Searches run on `search_threads` OpenMP threads (1 by default: concurrent requests bring the
parallelism, and two threads per search halved throughput under load: docs/scaling.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from index.errors import VectorStoreError
from index.hnsw_graph import GRAPH_META, HnswGraph, read_faiss

log = logging.getLogger(__name__)

ANN_THRESHOLD = 100_000  # bench/scale.py: about where concurrent exact searches grow too slow
FLAT_FILE = "vectors.faiss"  # the exact part: every vector, or those added since the graph
ANN_FILE = GRAPH_META  # present when a generation searches through a graph
SEARCH_THREADS = 1
EXTEND_AT = 20_000  # exact vectors beside a graph before they go into it (a few ms per search)
REBUILD_SHARE = 0.2  # masked share of a graph past which it is built afresh (recall: benchmarks)

GraphWork = Literal["build", "extend", "rebuild"]


class FaissStore:
    """Exact search below `ann_threshold` vectors, an HNSW graph plus an exact part above."""

    def __init__(
        self,
        dimension: int,
        flat: faiss.Index | None = None,
        graph: HnswGraph | None = None,
        ann_threshold: int = ANN_THRESHOLD,
        search_threads: int = SEARCH_THREADS,
    ):
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self.search_threads = search_threads  # 0: OpenMP's default (every core)
        self._flat: Any = flat or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._graph = graph

    def __len__(self) -> int:
        return int(self._flat.ntotal) + (len(self._graph) if self._graph else 0)

    @property
    def kind(self) -> str:
        """How a search runs: "hnsw" with a graph, else "exact"."""
        return "hnsw" if self._graph is not None else "exact"

    @property
    def graph(self) -> HnswGraph | None:
        """The HNSW graph searches go through, if any."""
        return self._graph

    @property
    def exact_count(self) -> int:
        """Vectors searched exactly: all of them without a graph, those added since with one."""
        return int(self._flat.ntotal)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Store vectors under their ids, into the exact part (a graph's copy is masked)."""
        if not ids:
            return
        if self._graph is not None:
            self._graph.remove(ids)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._flat.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        """Drop the vectors with these ids (masked in the graph)."""
        if ids:
            self._flat.remove_ids(np.asarray(ids, dtype=np.int64))
            if self._graph is not None:
                self._graph.remove(ids)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) for one query vector, best first."""
        if len(self) == 0 or k <= 0:
            return []
        if self.search_threads:  # per thread: OpenMP keeps the setting for the calling thread
            faiss.omp_set_num_threads(self.search_threads)
        matrix = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        found = []
        if self._flat.ntotal:
            scores, ids = self._flat.search(matrix, min(k, int(self._flat.ntotal)))
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]
        if self._graph is not None and len(self._graph):
            found += self._graph.search(matrix, k)
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors for the given ids, in that order; VectorStoreError for an unknown id
        (as every store raises)."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        graph_index = self._graph.index if self._graph else self._flat  # never asked without
        held = self._graph.holds(np.asarray(ids)) if self._graph else np.zeros(len(ids), bool)
        try:
            rows = [
                (graph_index if in_graph else self._flat).reconstruct(int(i))
                for i, in_graph in zip(ids, held, strict=True)
            ]
        except RuntimeError as exc:  # FAISS's C++ "key not found"
            raise VectorStoreError(f"a vector id is not in the index: {exc}") from exc
        return np.vstack(rows)

    def graph_due(self) -> GraphWork | None:
        """What the graph needs: a first `build`, the exact part placed into it (`extend`), a
        `rebuild` once too much of it is masked, or nothing (None)."""
        if self._graph is None:
            return "build" if len(self) >= self.ann_threshold else None
        if len(self._graph.removed) > REBUILD_SHARE * len(self._graph.ids):
            return "rebuild"
        return "extend" if self._flat.ntotal >= EXTEND_AT else None

    def new_graph(self, work: GraphWork, threads: int = 0) -> HnswGraph:
        """The graph `work` makes from the vectors stored now (minutes for a build); the store
        keeps searching the old one until it `adopt`s this one."""
        ids, vectors = _stored(self._flat)
        if work == "extend" and self._graph is not None:
            fresh = ~self._graph.built_in(ids)
            return self._graph.extended(ids[fresh], vectors[fresh], threads)
        if self._graph is not None:
            kept_ids, kept = self._graph.live_vectors()
            ids, vectors = np.concatenate([kept_ids, ids]), np.vstack([kept, vectors])
        return HnswGraph.build(ids, vectors, threads)

    def adopt(self, graph: HnswGraph, built_on: str | None) -> bool:
        """Search through `graph`, made from this store when its graph was the one named
        `built_on` (None: none). Vectors added or changed since stay exact, ids removed since are
        masked. False, changing nothing, when the store has had another graph meanwhile."""
        if (self._graph.name if self._graph else None) != built_on:
            return False
        ids, vectors = _stored(self._flat)
        built = graph.built_in(ids)
        same = built.copy()
        if built.any():
            same[built] = np.all(graph.vectors(ids[built].tolist()) == vectors[built], axis=1)
        kept = self._graph.live_ids() if self._graph else np.zeros(0, dtype=np.int64)
        live = np.union1d(kept, ids)
        graph.removed = set()
        graph.remove(np.setdiff1d(graph.ids, live).tolist() + ids[built & ~same].tolist())
        self._flat.remove_ids(ids[same])
        self._graph = graph
        return True

    def save(self, folder: Path) -> None:
        """Write the exact part to `folder`, and the graph beside it (hard-linked when saved)."""
        faiss.write_index(self._flat, str(folder / FLAT_FILE))
        if self._graph is not None:
            self._graph.save(folder)

    def committed(self) -> None:
        """Nothing to do: the generation folder holds every vector."""

    def sweep(self, keep: set[int]) -> int:
        """Nothing to do: a writer that died left its vectors in a staging folder, not here."""
        return 0

    def close(self) -> None:
        """Nothing to let go of: the vectors are in memory or mapped from the folder."""

    @classmethod
    def load(
        cls,
        folder: Path,
        ann_threshold: int = ANN_THRESHOLD,
        search_threads: int = SEARCH_THREADS,
    ) -> FaissStore:
        """The vectors saved in `folder`; a file gone meanwhile (its generation removed by two
        switches during the load) is a `FileNotFoundError`, which `load_index` retries. A
        generation written before graphs were kept (`vectors.hnsw.faiss`) loads as exact: its
        exact index holds every vector, and the next compaction builds a graph."""
        flat = read_faiss(folder / FLAT_FILE)
        graph = HnswGraph.read(folder)
        return cls(flat.d, flat, graph, ann_threshold, search_threads)


def _stored(flat: Any) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of an `IndexIDMap2(IndexFlatIP)`, in its internal order."""
    ids = faiss.vector_to_array(flat.id_map).astype(np.int64)
    vectors = faiss.downcast_index(flat.index).reconstruct_n(0, int(flat.ntotal))
    return ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), flat.d)


__all__ = ["ANN_FILE", "ANN_THRESHOLD", "FLAT_FILE", "FaissStore", "VectorStoreError"]
