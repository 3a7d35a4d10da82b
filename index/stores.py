"""Vector stores behind one small protocol, and the setting that picks one.

A store lives beside a generation's other files: `save(folder)` writes what the generation
needs to find its vectors again, and `open_store(folder)` reads it back, so loading an index
needs no settings. Stores that keep vectors outside the folder (Milvus) must not delete
anything an older generation still uses before the new one is current: `committed()` is
called after the switch, and is where they drop what was removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from index.faiss_store import ANN_FILE, ANN_THRESHOLD, SEARCH_THREADS, FaissStore
from index.milvus_store import MILVUS_FILE, MilvusStore


class VectorStore(Protocol):
    """Chunk vectors by 64-bit chunk id; `search` returns (id, inner product), best first."""

    dimension: int

    def __len__(self) -> int: ...
    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Add `vectors` under `ids` (not yet saved)."""
        ...

    def remove(self, ids: list[int]) -> None:
        """Forget the vectors of `ids`."""
        ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The `k` nearest (id, inner product) pairs, best first."""
        ...

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of `ids`, in that order; VectorStoreError for an unknown id."""
        ...

    def save(self, folder: Path) -> None:
        """Write the vectors into generation folder `folder`."""
        ...

    def committed(self) -> None:
        """The generation saved last is now current: a store may drop what only older ones needed."""
        ...

    def sweep(self, keep: set[int]) -> int:
        """Delete stored vectors outside `keep` (and outside those awaiting deletion): what a
        writer that died left. Returns how many went; a store in the folder has none."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


@dataclass(frozen=True)
class StoreSpec:
    """Which store a new index gets (an existing index keeps the one it was built with)."""

    kind: Literal["faiss", "milvus"] = "faiss"
    ann_threshold: int = ANN_THRESHOLD  # faiss: exact search below this many vectors, HNSW above
    milvus_uri: str = ".kb/milvus.db"  # a file: Milvus Lite, embedded; http(s)://: a cluster
    milvus_collection: str = "kb_chunks"
    milvus_index: Literal["FLAT", "HNSW"] = "FLAT"  # milvus: exact, or a graph (new collections)
    search_threads: int = SEARCH_THREADS  # faiss: OpenMP threads per search (0: every core)
    build_threads: int = 0  # faiss: OpenMP threads building the search graph (0: every core)

    def create(self, dimension: int) -> VectorStore:
        """A new, empty store of this kind for vectors of `dimension`."""
        if self.kind == "milvus":
            return MilvusStore(
                dimension, self.milvus_uri, self.milvus_collection, index_type=self.milvus_index
            )
        return FaissStore(
            dimension, ann_threshold=self.ann_threshold, search_threads=self.search_threads
        )


def describe_store(folder: Path) -> dict[str, str]:
    """What a generation folder keeps its vectors in, read from its files (nothing is loaded)."""
    if (folder / MILVUS_FILE).is_file():
        saved = json.loads((folder / MILVUS_FILE).read_text(encoding="utf-8"))
        return {"kind": "milvus", "uri": saved["uri"], "collection": saved["collection"]}
    if not (folder / ANN_FILE).is_file():
        return {"kind": "faiss", "search": "exact"}
    graph = json.loads((folder / ANN_FILE).read_text(encoding="utf-8"))
    built, removed = int(graph["built"]), int(graph["removed"])
    masked = f"{built:,} vectors, {removed:,} of them removed since ({removed / built:.0%})"
    return {"kind": "faiss", "search": "hnsw", "graph": masked}


def store_status(folder: Path) -> dict[str, Any]:
    """A generation's store, asked (`kb doctor`): Milvus's server version and row counts;
    FAISS, which is a file in the folder, adds nothing to `describe_store`."""
    if not (folder / MILVUS_FILE).is_file():
        return {}
    store = MilvusStore.load(folder / MILVUS_FILE)
    try:
        return store.status()
    finally:
        store.close()


def open_store(folder: Path, spec: StoreSpec | None = None) -> VectorStore:
    """The store a generation folder was saved with."""
    if (folder / MILVUS_FILE).is_file():
        return MilvusStore.load(folder / MILVUS_FILE)
    spec = spec or StoreSpec()
    return FaissStore.load(folder, spec.ann_threshold, spec.search_threads)
