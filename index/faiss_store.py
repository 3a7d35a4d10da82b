"""Exact inner-product vector store over FAISS, keyed by chunk id."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class FaissStore:
    """`IndexIDMap2(IndexFlatIP)`: exact search, add and remove by 64-bit chunk id."""

    def __init__(self, dimension: int, index: faiss.Index | None = None):
        self.dimension = dimension
        self._index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        if not ids:
            return
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]  # SWIG takes arrays

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) for one query vector, best first."""
        if len(self) == 0 or k <= 0:
            return []
        matrix = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(matrix, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors for the given chunk ids, in that order."""
        rows = [self._index.reconstruct(int(i)) for i in ids]
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        index = faiss.read_index(str(path))
        return cls(index.d, index)
