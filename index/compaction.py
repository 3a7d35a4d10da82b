"""The search graph's upkeep, outside the writer lock: build, extend or rebuild it, then switch.

An ingest only ever adds to the exact part beside the graph and masks what it removes
(`index.faiss_store`), so it stays fast; the graph work it leaves (`FaissStore.graph_due`) is
done here. The new graph is made from the current generation without holding the writer lock
(minutes for a build: uploads and ingests go on meanwhile), then adopted under the lock by
whatever generation is current by then, which keeps its own later changes exact or masked,
and saved as a new generation: a crash at any point leaves the old index or the new one.

`kb ingest` does this work at once, on every core; the page starts it in a background thread.
"""

from __future__ import annotations

import logging
import threading

from index.config import IndexConfig
from index.faiss_store import FaissStore, GraphWork
from index.hnsw_graph import HnswGraph
from index.lock import DEFAULT_WAIT_S, index_lock
from index.storage import current_generation, load_index, save_index, writing
from index.stores import describe_store, open_store

log = logging.getLogger(__name__)

_one_at_a_time = threading.Lock()  # per process; a second one would only build the same graph


def compact(config: IndexConfig, lock_wait_s: float = DEFAULT_WAIT_S) -> GraphWork | None:
    """Do the graph work the current generation needs, if any; returns which was done."""
    made = _new_graph(config)
    if made is None:
        return None
    work, graph, built_on = made
    with index_lock(config.dir, lock_wait_s), writing(config.dir):
        state = load_index(config.dir, config.store)
        store = state.store
        if not isinstance(store, FaissStore) or not store.adopt(graph, built_on):
            log.info("search graph: the index got another graph meanwhile; this one is dropped")
            return None
        save_index(config.dir, state)
    log.info(
        "search graph: %s done; %d vectors are searched exactly beside it", work, store.exact_count
    )
    return work


def _new_graph(config: IndexConfig) -> tuple[GraphWork, HnswGraph, str | None] | None:
    """(the work, the graph it made, the graph it was made on) from the current generation."""
    generation = current_generation(config.dir)
    if generation is None or describe_store(generation)["kind"] != "faiss":
        return None  # read from its files: a Milvus store is not even opened
    store = open_store(generation, config.store)
    try:
        work = store.graph_due() if isinstance(store, FaissStore) else None
        if work is None or not isinstance(store, FaissStore):
            return None
        log.info("search graph: %s over %d vectors (minutes for a build)", work, len(store))
        built_on = store.graph.name if store.graph else None
        return work, store.new_graph(work, config.store.build_threads), built_on
    finally:
        store.close()


def compact_in_background(config: IndexConfig) -> threading.Thread | None:
    """`compact` in a daemon thread, unless one is running already in this process."""
    if not _one_at_a_time.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            compact(config)
        except Exception:  # a thread's exception is lost otherwise; the index is unchanged
            log.exception("search graph: the background work failed; the index is unchanged")
        finally:
            _one_at_a_time.release()

    thread = threading.Thread(target=run, name="kb-search-graph", daemon=True)
    thread.start()
    return thread
