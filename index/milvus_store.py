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
from index.hnsw_graph import BUILD_DEPTH as HNSW_BUILD_DEPTH
from index.hnsw_graph import NEIGHBOURS as HNSW_NEIGHBOURS
from index.hnsw_graph import SEARCH_DEPTH as HNSW_SEARCH_DEPTH

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

    def __init__(
        self,
        dimension: int,
        uri: str,
        collection: str,
        pending: Iterable[int] | None = None,
        index_type: str = "FLAT",
        written_ts: int | None = None,
    ):
        """A new, empty-looking store; `pending` (from `load`): reopen, hiding those ids.
        `index_type` (FLAT or HNSW) applies when the collection is created. `written_ts`: the
        Milvus timestamp of the generation's last write (see `_reads`)."""
        if index_type not in INDEX_TYPES:
            raise VectorStoreError(
                f"unknown Milvus index type {index_type!r}: set KB_INDEX__MILVUS_INDEX to "
                + " or ".join(INDEX_TYPES)
            )
        self.dimension = dimension
        self.uri = uri
        self.collection = collection
        self.index_type = index_type
        self._written_ts = written_ts or 0
        self._reads = _reads(written_ts, reopened=pending is not None)
        self._client = _connect(uri, create=pending is None)
        if pending is None:
            self._pending = self._start()
        else:
            self._open()
            self._pending = self._present(pending)
        self._retired = set(self._pending)  # hidden by an earlier generation: deleted next
        self._unchecked: set[int] = set()  # removed, not yet checked against the collection

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
            data.get("written_ts"),
        )

    def __len__(self) -> int:
        self._settle()
        return self._stored() - len(self._pending)  # pending ⊆ stored, see `_settle`

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
        self._reads = _reads(None, reopened=False)  # now it reads its own writes too
        added = {int(i) for i in ids}
        self._pending -= added  # re-added: no longer to delete
        self._unchecked -= added

    def remove(self, ids: list[int]) -> None:
        """Hide now, delete in `committed`: the current generation may still use these ids."""
        # An ingest removes file by file: asking the server each time would cost a round trip
        # per file (a slow one at Strong consistency); `_settle` asks once.
        self._unchecked.update(int(i) for i in ids)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) for one query vector, best first."""
        if k <= 0:
            return []
        # Hidden ids still come back from Milvus: ask for enough to drop them and keep k.
        hidden = self._pending | self._unchecked
        limit = min(k + len(hidden), MAX_LIMIT)
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        hits = self._client.search(
            self.collection,
            data=[vector],
            limit=limit,
            output_fields=[ID_FIELD],  # Milvus Lite returns the vectors too unless told
            search_params=self._search_params(limit),
            **self._reads,
        )[0]
        found = [(int(h[ID_FIELD]), float(h["distance"])) for h in hits]
        return [(i, score) for i, score in found if i not in hidden][:k]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Stored vectors for the given chunk ids, in that order; KeyError for unknown ids."""
        found: dict[int, list[float]] = {}
        for batch in _batches(ids):
            rows = self._client.get(
                self.collection, ids=batch, output_fields=[VECTOR_FIELD], **self._reads
            )
            found.update({int(r[ID_FIELD]): r[VECTOR_FIELD] for r in rows})
        missing = [i for i in ids if i not in found or i in self._pending or i in self._unchecked]
        if missing:
            raise VectorStoreError(
                f"{len(missing)} chunk vectors are gone from Milvus collection "
                f"{self.collection!r} (the index changed meanwhile), e.g. id {missing[0]}"
            )
        ordered = [found[i] for i in ids]
        return np.asarray(ordered, dtype=np.float32).reshape(len(ids), self.dimension)

    def save(self, folder: Path) -> None:
        """Flush (the generation must not point at unsealed rows), then record where they are."""
        self._settle()
        self._client.flush(self.collection)
        self._written_ts = max(self._written_ts, self._last_write_ts())
        data = {
            "uri": self.uri,  # as given: a relative Milvus Lite path stays relative
            "collection": self.collection,
            "dimension": self.dimension,
            "pending_delete": sorted(self._pending),
            "index_type": self.index_type,
            "written_ts": self._written_ts or None,
        }
        with open(folder / MILVUS_FILE, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())

    def committed(self) -> None:
        """A new generation is current: delete what the generation before it had already
        hidden (no reader still loads an older one); what this one hid waits a generation."""
        self._settle()
        gone = sorted(self._retired & self._pending)
        self._delete(gone)
        self._pending.difference_update(gone)
        self._retired = set(self._pending)

    def sweep(self, keep: set[int]) -> int:
        """Delete the rows no generation uses: upserted by an ingest that died before its
        switch. Reads every id in the collection, so only called after such a death."""
        self._settle()
        orphans = sorted(self._all_ids() - keep - self._pending)
        self._delete(orphans)
        return len(orphans)

    def close(self) -> None:
        """Let go of the connection (a page that reloads its index opens a new store)."""
        self._client.close()

    def status(self) -> dict[str, Any]:
        """What `kb doctor` shows: the server's version, the rows the collection holds, and
        how many of them this generation searches (the rest wait for deletion, see `remove`)."""
        self._settle()
        stored = self._stored()
        return {
            "server_version": str(self._client.get_server_version()),
            "rows": stored,
            "searchable": stored - len(self._pending),
        }

    def _last_write_ts(self) -> int:
        """The timestamp of this process's last write to the collection, which pymilvus keeps
        for its Session consistency (0: none, or Milvus Lite)."""
        try:
            from pymilvus.client import ts_utils

            address = self._client._get_connection().server_address
            return int(ts_utils.get_collection_ts(self.collection, address, "") or 0)
        except Exception:  # a pymilvus without these internals: readers fall back to Strong
            return 0

    def _delete(self, ids: list[int]) -> None:
        """Delete, and wait until this store's own reads see it: a 2.3 server's delete gives
        pymilvus no time for its Session reads, so a search right after (no longer hiding the
        ids) would still find the rows. A Strong read returns once the server applied them."""
        for batch in _batches(ids):
            self._client.delete(self.collection, ids=batch)
        if ids:
            self._stored()

    def _settle(self) -> None:
        """Hide the removed ids the collection holds (only those, so `__len__` can subtract)."""
        if self._unchecked:
            self._pending |= self._present(self._unchecked)
            self._unchecked.clear()

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
            rows = self._client.get(
                self.collection, ids=batch, output_fields=[ID_FIELD], consistency_level="Strong"
            )
            present.update(int(r[ID_FIELD]) for r in rows)
        return present

    def _stored(self) -> int:
        # Strong, like `_present`: bookkeeping is not on the question path, and `__len__`
        # subtracts one from the other (a Session read also misses this process's own
        # deletes on a 2.3 server: pymilvus records no time for them there).
        rows = self._client.query(
            self.collection, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
        return int(rows[0]["count(*)"])

    def _all_ids(self) -> set[int]:
        if self._stored() == 0:  # spares Milvus Lite's iterator warning on an empty collection
            return set()
        # Strong: a sweep looks for the rows of a writer killed seconds ago, which a bounded
        # read may not see yet (CI once found 340 of them left after the sweep)
        iterator = self._client.query_iterator(
            self.collection, batch_size=BATCH, output_fields=[ID_FIELD], consistency_level="Strong"
        )
        ids: set[int] = set()
        try:
            while rows := iterator.next():
                ids.update(int(r[ID_FIELD]) for r in rows)
        finally:
            iterator.close()
        return ids


def _reads(written_ts: int | None, reopened: bool) -> dict[str, Any]:
    """How searches and `vectors` (the question path) wait for writes. Strong waits for the
    server's newest timestamp on every call, which on a real server costs far more than the
    search itself, for every question (docs/benchmarks.md, "Vector stores at scale"). A writer
    needs only its own writes (Session: pymilvus sends the time of this process's last write);
    a reader, the writes of the generation it loaded, whose time the generation records. A
    generation saved before that was recorded reads Strong."""
    if not reopened:
        return {"consistency_level": "Session"}
    if written_ts:
        return {"consistency_level": "Customized", "guarantee_timestamp": int(written_ts)}
    return {"consistency_level": "Strong"}


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
        raise VectorStoreError(f"cannot open Milvus at {uri}: {_why(exc, lite, token)}") from exc


def _why(exc: Any, lite: bool, token: str) -> str:
    """pymilvus says "illegal connection params or server unavailable" for a refused token and
    a stopped server alike; the gRPC status underneath tells them apart."""
    if lite:
        return f"{exc.message} (Milvus Lite: one process per database at a time)"
    status = _grpc_status(exc)
    if status == "UNAUTHENTICATED":
        given = "was refused" if token else "is needed"
        return f"the server wants a user: its token ({TOKEN_ENV}=user:password) {given}"
    if status == "UNAVAILABLE":
        return "nothing answers there: is the Milvus server running, and is the URI right?"
    return str(exc.message)


def _grpc_status(exc: BaseException) -> str | None:
    cause: BaseException | None = exc
    while cause is not None:
        code = getattr(cause, "code", None)
        if callable(code):
            return str(getattr(code(), "name", code()))
        cause = cause.__cause__ or cause.__context__
    return None


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
