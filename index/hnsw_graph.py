"""An HNSW graph over a fixed set of vectors: built once, read memory-mapped, never changed.

FAISS cannot remove a vector from an HNSW graph, and adding to one means writing the whole file
again (1.8 GB at a million vectors), so kb never changes a graph once it is written: vectors
added since it was built live in a small exact index beside it (`FaissStore`), and ids removed
since are masked at search time (an `IDSelector` inside FAISS's search, so the k results are k
live ones). A generation that keeps the graph hard-links its file instead of writing it again,
which is what makes a save into a million-vector index take seconds. A new graph is built from
every live vector when enough have been added or removed (`index.compaction`).

Read with `IO_FLAG_MMAP_IFC`, the vectors stay in the page cache rather than in each process's
own memory, shared by every kb process on the machine.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from index.errors import VectorStoreError

log = logging.getLogger(__name__)

GRAPH_META = "vectors.graph.json"  # names the graph file and counts; its presence means "hnsw"
REMOVED_FILE = "vectors.removed.npy"  # ids in the graph removed since it was built
NEIGHBOURS = 32
BUILD_DEPTH = 80
SEARCH_DEPTH = 96
_BUILD_BLOCK = 20_000  # vectors added to a new graph per step of its progress bar


class HnswGraph:
    """Vectors by id in an HNSW graph, with the ids removed since it was built masked."""

    def __init__(self, index: Any, name: str, path: Path | None = None, removed: Any = ()):
        self.index = index  # IndexIDMap2(IndexHNSWFlat): reconstructs by id
        self.name = name  # its file name: unique per build, so hard links never mix two graphs
        self.path = path  # the file it was read from or saved to; None until saved
        self.ids = np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
        self.removed: set[int] = {int(i) for i in removed}
        self._params: Any = None  # search parameters with the mask, made again after a change

    def __len__(self) -> int:
        """Live vectors: those built in, less those removed since."""
        return len(self.ids) - len(self.removed)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, threads: int = 0) -> HnswGraph:
        """A new graph over `vectors` (minutes for 10^5 on two cores), on `threads` OpenMP
        threads (0: every core)."""
        faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
        graph = faiss.IndexHNSWFlat(vectors.shape[1], NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = BUILD_DEPTH
        graph.hnsw.efSearch = SEARCH_DEPTH
        index = faiss.IndexIDMap2(graph)
        with tqdm(total=len(ids), desc="search graph", unit="vector", disable=None) as bar:
            for start in range(0, len(ids), _BUILD_BLOCK):
                stop = start + _BUILD_BLOCK
                block = np.ascontiguousarray(vectors[start:stop], dtype=np.float32)
                index.add_with_ids(block, np.ascontiguousarray(ids[start:stop], dtype=np.int64))
                bar.update(len(block))
        return cls(index, _new_name())

    def built_in(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the graph was built with, removed since or not."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.zeros(len(ids), dtype=bool)
        at = np.clip(np.searchsorted(self.ids, ids), 0, len(self.ids) - 1)
        return np.asarray(self.ids[at] == ids)

    def holds(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the graph holds live (built in and not removed since)."""
        found = self.built_in(ids)
        if not self.removed:
            return found
        return found & np.array([int(i) not in self.removed for i in ids], dtype=bool)

    def remove(self, ids: list[int]) -> None:
        """Mask the ids the graph holds: searches skip them from now on."""
        held = [int(i) for i, live in zip(ids, self.holds(np.asarray(ids)), strict=True) if live]
        if held:
            self.removed.update(held)
            self._params = None

    def live_ids(self) -> np.ndarray:
        """The ids of the live vectors, sorted."""
        if not self.removed:
            return self.ids
        return np.setdiff1d(self.ids, np.fromiter(self.removed, dtype=np.int64))

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every live vector, read in the graph's own order (a copy)."""
        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        graph: Any = faiss.downcast_index(self.index.index)  # SWIG attributes the stubs lack
        storage = faiss.downcast_index(graph.storage)
        vectors = storage.reconstruct_n(0, len(ids)).reshape(len(ids), -1)
        live = self.holds(ids) if self.removed else np.ones(len(ids), dtype=bool)
        return ids[live], vectors[live]

    def search(self, matrix: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k live (id, inner product) for one query row."""
        scores, ids = self.index.search(matrix, min(k, len(self)), params=self._search_params())
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def _search_params(self) -> Any:
        if self._params is None:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # not in the stubs
            params.efSearch = SEARCH_DEPTH
            if self.removed:
                masked = faiss.IDSelectorBatch(np.fromiter(self.removed, dtype=np.int64))
                params.sel = faiss.IDSelectorNot(masked)
                params.masked = masked  # SWIG holds no reference: keep the batch alive with it
            self._params = params
        return self._params

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors of `ids` (each built in)."""
        return np.vstack([self.index.reconstruct(int(i)) for i in ids])

    def extended(self, ids: np.ndarray, vectors: np.ndarray, threads: int = 0) -> HnswGraph:
        """A new graph: this one read whole into memory, with `vectors` added (ids it was not
        built with); far cheaper than a new build, as only the new vectors are placed."""
        faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
        index = faiss.clone_index(self.index) if self.path is None else read_faiss(self.path)
        if len(ids):
            matrix = np.ascontiguousarray(vectors, dtype=np.float32)
            index.add_with_ids(matrix, np.ascontiguousarray(ids, dtype=np.int64))
        graph = HnswGraph(index, _new_name())
        graph.remove(list(self.removed))
        return graph

    def save(self, folder: Path) -> None:
        """Put the graph in generation `folder`: a hard link to the file it came from when there
        is one (no copy of gigabytes), else the file written; the mask and counts beside it."""
        target = folder / self.name
        if not self._link(target):
            faiss.write_index(self.index, str(target))
            _fsync(target)
        np.save(folder / REMOVED_FILE, np.fromiter(sorted(self.removed), dtype=np.int64))
        meta = {"file": self.name, "built": len(self.ids), "removed": len(self.removed)}
        (folder / GRAPH_META).write_text(json.dumps(meta), encoding="utf-8")
        self.path = target

    def _link(self, target: Path) -> bool:
        """Link (or, across file systems, copy) the saved file; False when there is none."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            os.link(self.path, target)
        except OSError:
            shutil.copyfile(self.path, target)
        return True

    @classmethod
    def read(cls, folder: Path) -> HnswGraph | None:
        """The graph a generation folder names, memory-mapped; None when it has none."""
        meta_path = folder / GRAPH_META
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        path = folder / meta["file"]
        index = read_faiss(path, faiss.IO_FLAG_MMAP_IFC)
        graph: Any = faiss.downcast_index(index.index)  # SWIG attributes the stubs lack
        graph.hnsw.efSearch = SEARCH_DEPTH
        removed = np.load(folder / REMOVED_FILE) if meta["removed"] else ()
        return cls(index, meta["file"], path, removed)


def read_faiss(path: Path, flags: int = 0) -> Any:
    """`faiss.read_index`, whose C++ errors (RuntimeError) become kb's: a missing file stays a
    `FileNotFoundError`, anything else is a `VectorStoreError`."""
    try:
        return faiss.read_index(str(path), flags)
    except RuntimeError as exc:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is gone") from exc
        raise VectorStoreError(f"cannot read {path}: {exc}") from exc


def _new_name() -> str:
    return f"vectors.graph-{uuid.uuid4().hex[:12]}.faiss"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
