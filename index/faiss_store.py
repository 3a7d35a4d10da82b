"""Inner-product vector store over FAISS, keyed by chunk id: exact, with HNSW once it is large.

The exact `IndexIDMap2(IndexFlatIP)` is always kept: it is the one that can remove and
reconstruct by id. From `ann_threshold` vectors on, `save` also builds an HNSW graph over the
same vectors and searches go through it (recall against exact: docs/benchmarks.md). Below the
threshold an exact scan is fast enough and has recall 1; around it, exact scans from several
clients at once grow too slow for a question (bench/scale.py; docs/benchmarks.md,
"Vector stores at scale").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import VectorStoreError

ANN_THRESHOLD = 100_000  # bench/scale.py: about where concurrent exact searches grow too slow
FLAT_FILE = "vectors.faiss"
ANN_FILE = "vectors.hnsw.faiss"
HNSW_NEIGHBOURS = 32
HNSW_BUILD_DEPTH = 80
HNSW_SEARCH_DEPTH = 96


class FaissStore:
    """Exact search below `ann_threshold` vectors, HNSW from there; add and remove by id."""

    def __init__(
        self,
        dimension: int,
        index: faiss.Index | None = None,
        ann: faiss.Index | None = None,
        ann_threshold: int = ANN_THRESHOLD,
    ):
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self._index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._ann = ann  # None while stale (after add or remove) or below the threshold

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """How a search runs: "hnsw" with a built graph, else "exact"."""
        return "hnsw" if self._ann is not None else "exact"

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Store vectors under their ids; the HNSW graph is stale until rebuilt."""
        if not ids:
            return
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))
        self._ann = None

    def remove(self, ids: list[int]) -> None:
        """Drop the vectors with these ids; the HNSW graph is stale until rebuilt."""
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]  # SWIG takes arrays
            self._ann = None

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) for one query vector, best first."""
        if len(self) == 0 or k <= 0:
            return []
        matrix = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        index = self._ann if self._ann is not None else self._index
        scores, ids = index.search(matrix, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors for the given ids, in that order; VectorStoreError for an unknown id
        (as every store raises)."""
        try:
            rows = [self._index.reconstruct(int(i)) for i in ids]
        except RuntimeError as exc:  # FAISS's C++ "key not found"
            raise VectorStoreError(f"a vector id is not in the index: {exc}") from exc
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def build_ann(self) -> None:
        """An HNSW graph over every stored vector, rebuilt whole at each save (minutes on a CPU
        for a large index: docs/benchmarks.md, "Vector stores at scale")."""
        id_map: Any = self._index  # IndexIDMap2: SWIG attributes the stubs do not declare
        vectors = faiss.downcast_index(id_map.index).reconstruct_n(0, len(self))
        ids = faiss.vector_to_array(id_map.id_map).astype(np.int64)
        graph = faiss.IndexHNSWFlat(self.dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_BUILD_DEPTH
        graph.hnsw.efSearch = HNSW_SEARCH_DEPTH
        ann = faiss.IndexIDMap(graph)
        ann.add_with_ids(vectors, ids)
        self._ann = ann

    def save(self, folder: Path) -> None:
        """Write the exact index to `folder`, and the HNSW graph too at or above the threshold."""
        faiss.write_index(self._index, str(folder / FLAT_FILE))
        if len(self) >= self.ann_threshold:
            if self._ann is None:
                self.build_ann()
            faiss.write_index(self._ann, str(folder / ANN_FILE))  # type: ignore[arg-type]  # built above

    def committed(self) -> None:
        """Nothing to do: the generation folder holds every vector."""

    def sweep(self, keep: set[int]) -> int:
        """Nothing to do: a writer that died left its vectors in a staging folder, not here."""
        return 0

    def close(self) -> None:
        """Nothing to let go of: the vectors are in memory."""

    @classmethod
    def load(cls, folder: Path, ann_threshold: int = ANN_THRESHOLD) -> FaissStore:
        """The vectors saved in `folder`; a file gone meanwhile (its generation removed by two
        switches during the load) is a `FileNotFoundError`, which `load_index` retries."""
        index = _read_index(folder / FLAT_FILE)
        ann: Any = None
        if (folder / ANN_FILE).is_file() and index.ntotal >= ann_threshold:
            ann = _read_index(folder / ANN_FILE)
            graph: Any = faiss.downcast_index(ann.index)
            graph.hnsw.efSearch = HNSW_SEARCH_DEPTH
        return cls(index.d, index, ann, ann_threshold)


def _read_index(path: Path) -> Any:
    """`faiss.read_index`, whose C++ errors (RuntimeError) become kb's: a missing file stays a
    `FileNotFoundError`, anything else is a `VectorStoreError`."""
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is gone") from exc
        raise VectorStoreError(f"cannot read {path}: {exc}") from exc
