"""Inner-product vector store in a Milvus collection: Milvus Lite (a local `.db`) or a cluster.

Unlike FAISS, the vectors live outside the generation folder, and every generation of an index
shares one collection. So `remove` only hides ids (from `search`, `vectors` and `len`), and
they are deleted one generation later: a page still answering from the generation before (the
one the index folder keeps, index/storage.py) still finds their vectors. `committed` deletes
the ids the previous generation had hidden. The generation records the hidden ids, so a crash
between the switch and `committed` still hides them, and a later `committed` deletes them.

A new store (`MilvusStore(dimension, uri, collection)`, a new or rebuilt index) hides whatever the
collection already holds: the old generation keeps using it until the rebuild is current.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexMismatchError, VectorStoreError
from index.faiss_store import HNSW_BUILD_DEPTH, HNSW_NEIGHBOURS, HNSW_SEARCH_DEPTH

MILVUS_FILE = "vectors.milvus.json"  # where a generation records its Milvus collection

TOKEN_ENV = "KB_MILVUS_TOKEN"
ID_FIELD = "id"
VECTOR_FIELD = "vector"
INDEX_TYPES = ("FLAT", "HNSW")  # FLAT: exact, like FaissStore below its HNSW threshold
# HNSW: the graph FaissStore builds (same neighbours, build and search depth), so the two
# stores' recall and speed compare (bench/scale.py). Milvus Lite builds FLAT whatever is asked.
HNSW_PARAMS = {"M": HNSW_NEIGHBOURS, "efConstruction": HNSW_BUILD_DEPTH}
MAX_LIMIT = 16_384  # the most hits Milvus returns for one search
BATCH = 1_000  # ids or rows per request: keeps filter expressions and gRPC messages small


class MilvusStore:
    """Chunk vectors in one Milvus collection; removals wait for `committed`."""

    # Strong: a search sees every write before it, but waits for the server's next time tick
    # (about 200 ms a search on a standalone server: docs/benchmarks.md, "Scale").
    search_consistency = "Strong"

    def __init__(
        self,
        dimension: int,
        uri: str,
        collection: str,
        pending: Iterable[int] | None = None,
        index_type: str = "FLAT",
    ):
        """A new, empty-looking store; `pending` (from `load`): reopen, hiding those ids.
        `index_type` (FLAT or HNSW) applies when the collection is created."""
        if index_type not in INDEX_TYPES:
            raise VectorStoreError(
                f"unknown Milvus index type {index_type!r}: set KB_INDEX__MILVUS_INDEX to "
                + " or ".join(INDEX_TYPES)
            )
        self.dimension = dimension
        self.uri = uri
        self.collection = collection
        self.index_type = index_type
        self._client = _connect(uri, create=pending is None)
        if pending is None:
            self._pending = self._start()
        else:
            self._open()
            self._pending = self._present(pending)
        self._retired = set(self._pending)  # hidden by an earlier generation: deleted next

    @classmethod
    def load(cls, path: Path) -> MilvusStore:
        """The store a generation saved in `path`: its collection, ids awaiting deletion hidden."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            int(data["dimension"]),
            data["uri"],
            data["collection"],
            data.get("pending_delete", []),
            data.get("index_type", "FLAT"),
        )

    def __len__(self) -> int:
        return self._stored() - len(self._pending)  # pending ⊆ stored, see `remove`

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Upsert now: the generation being staged must find its vectors."""
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dimension)
        for start in range(0, len(ids), BATCH):
            rows = [
                {ID_FIELD: int(i), VECTOR_FIELD: v.tolist()}
                for i, v in zip(
                    ids[start : start + BATCH], matrix[start : start + BATCH], strict=True
                )
            ]
            self._client.upsert(self.collection, rows)
        self._pending.difference_update(int(i) for i in ids)  # re-added: no longer to delete

    def remove(self, ids: list[int]) -> None:
        """Hide now, delete in `committed`: the current generation may still use these ids."""
        self._pending |= self._present(ids)  # only stored ids, so `__len__` can subtract

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) for one query vector, best first."""
        if k <= 0:
            return []
        # Hidden ids still come back from Milvus: ask for enough to drop them and keep k.
        limit = min(k + len(self._pending), MAX_LIMIT)
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        hits = self._client.search(
            self.collection,
            data=[vector],
            limit=limit,
            output_fields=[ID_FIELD],  # Milvus Lite returns the vectors too unless told
            search_params=self._search_params(limit),
            consistency_level=self.search_consistency,
        )[0]
        found = [(int(h[ID_FIELD]), float(h["distance"])) for h in hits]
        return [(i, score) for i, score in found if i not in self._pending][:k]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors for the given chunk ids, in that order; KeyError for unknown ids."""
        found: dict[int, list[float]] = {}
        for batch in _batches(ids):
            rows = self._client.get(self.collection, ids=batch, output_fields=[VECTOR_FIELD])
            found.update({int(r[ID_FIELD]): r[VECTOR_FIELD] for r in rows})
        missing = [i for i in ids if i not in found or i in self._pending]
        if missing:
            raise VectorStoreError(
                f"{len(missing)} chunk vectors are gone from Milvus collection "
                f"{self.collection!r} (the index changed meanwhile), e.g. id {missing[0]}"
            )
        ordered = [found[i] for i in ids]
        return np.asarray(ordered, dtype=np.float32).reshape(len(ids), self.dimension)

    def save(self, folder: Path) -> None:
        """Flush (the generation must not point at unsealed rows), then record where they are."""
        self._client.flush(self.collection)
        data = {
            "uri": self.uri,  # as given: a relative Milvus Lite path stays relative
            "collection": self.collection,
            "dimension": self.dimension,
            "pending_delete": sorted(self._pending),
            "index_type": self.index_type,
        }
        with open(folder / MILVUS_FILE, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())

    def committed(self) -> None:
        """A new generation is current: delete what the generation before it had already
        hidden (no reader still loads an older one); what this one hid waits a generation."""
        gone = sorted(self._retired & self._pending)
        for batch in _batches(gone):
            self._client.delete(self.collection, ids=batch)
        self._pending.difference_update(gone)
        self._retired = set(self._pending)

    def close(self) -> None:
        """Let go of the connection (a page that reloads its index opens a new store)."""
        self._client.close()

    def _start(self) -> set[int]:
        """Create the collection, or hide what an existing one holds (a rebuild)."""
        if not self._client.has_collection(self.collection):
            self._create()
            return set()
        self._open()
        return self._all_ids()

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=self.dimension)
        index = MilvusClient.prepare_index_params()
        params = HNSW_PARAMS if self.index_type == "HNSW" else {}
        index.add_index(
            field_name=VECTOR_FIELD, index_type=self.index_type, metric_type="IP", params=params
        )
        # Strong: a search right after an upsert or delete must see it (the default is Bounded).
        self._client.create_collection(self.collection, schema=schema, consistency_level="Strong")
        # An empty collection's index is ready at once: not waiting spares pymilvus's 0.5 s poll
        # (and Milvus Lite's logged error for the timestamp that poll asks for).
        self._client.create_index(self.collection, index, sync=False)
        self._client.load_collection(self.collection)

    def _search_params(self, limit: int) -> dict[str, Any]:
        """HNSW searches as deep as FaissStore's, and at least `limit` deep (Milvus insists)."""
        if self.index_type != "HNSW":
            return {"metric_type": "IP"}
        return {"metric_type": "IP", "params": {"ef": max(HNSW_SEARCH_DEPTH, limit)}}

    def _open(self) -> None:
        """Check an existing collection and load it (a reopened one starts released)."""
        if not self._client.has_collection(self.collection):
            raise VectorStoreError(
                f"Milvus collection {self.collection!r} is gone from {self.uri}: "
                "run `kb ingest --rebuild`"
            )
        found = _stored_dimension(self._client.describe_collection(self.collection))
        if found != self.dimension:
            raise IndexMismatchError(
                f"Milvus collection {self.collection!r} holds {found}-d vectors, the embedder "
                f"makes {self.dimension}-d: set KB_INDEX__MILVUS_COLLECTION to another name "
                "(or drop this one) and run `kb ingest --rebuild`"
            )
        self._client.load_collection(self.collection)

    def _present(self, ids: Iterable[int]) -> set[int]:
        """Which of `ids` the collection holds."""
        present: set[int] = set()
        for batch in _batches(list(ids)):
            rows = self._client.get(self.collection, ids=batch, output_fields=[ID_FIELD])
            present.update(int(r[ID_FIELD]) for r in rows)
        return present

    def _stored(self) -> int:
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _all_ids(self) -> set[int]:
        if self._stored() == 0:  # spares Milvus Lite's iterator warning on an empty collection
            return set()
        iterator = self._client.query_iterator(
            self.collection, batch_size=BATCH, output_fields=[ID_FIELD]
        )
        ids: set[int] = set()
        try:
            while rows := iterator.next():
                ids.update(int(r[ID_FIELD]) for r in rows)
        finally:
            iterator.close()
        return ids


def _connect(uri: str, create: bool) -> Any:
    """A client for a cluster URL, or for Milvus Lite embedded when `uri` is a local path."""
    try:
        from pymilvus import MilvusClient, MilvusException
    except ImportError as exc:
        raise VectorStoreError("the Milvus store needs pymilvus: pip install 'kb[milvus]'") from exc
    lite = "://" not in uri and not uri.startswith("unix:")
    if lite:
        _prepare_lite_path(Path(uri), create)
    token = "" if lite else _token()
    try:
        return MilvusClient(uri=uri, token=token)
    except MilvusException as exc:
        hint = " (Milvus Lite: one process per database at a time)" if lite else ""
        raise VectorStoreError(f"cannot open Milvus at {uri}: {exc.message}{hint}") from exc


def _token() -> str:
    """Like the hosted backends' keys: the environment first, then `.env`; never logged."""
    from dotenv import dotenv_values

    return os.environ.get(TOKEN_ENV) or dotenv_values(".env").get(TOKEN_ENV) or ""


def _prepare_lite_path(path: Path, create: bool) -> None:
    """pymilvus runs Milvus Lite only for a `.db` path, a folder it makes in an existing one."""
    if path.suffix != ".db":
        raise VectorStoreError(f"a Milvus Lite path must end in .db (or use http://...): {path}")
    if not create and not path.is_dir():
        raise VectorStoreError(f"no Milvus Lite database at {path.resolve()}")
    path.parent.mkdir(parents=True, exist_ok=True)


def _stored_dimension(description: dict[str, Any]) -> int | None:
    for field in description.get("fields", []):
        if field.get("name") == VECTOR_FIELD:
            return int(field.get("params", {}).get("dim", 0))
    return None


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield [int(i) for i in ids[start : start + BATCH]]
