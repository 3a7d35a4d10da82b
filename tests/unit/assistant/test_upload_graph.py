"""An upload through the page into an index past the graph threshold: searchable at once from
the exact part, then the graph's upkeep runs in the background and the page follows it."""

from __future__ import annotations

import time
from pathlib import Path

from assistant.documents.library import DocumentLibrary, UploadLimits
from index.config import IndexConfig
from index.faiss_store import FaissStore
from index.hnsw_graph import GRAPH_META
from index.retriever import HybridRetriever
from index.storage import current_generation
from index.stores import StoreSpec
from tests.unit.assistant.conftest import make_assistant

TEXT = "# Zorblax\n\nThe Zorblax protocol was ratified by the Quillon council in spring.\n"


def _graph_built(index_dir: Path, limit_s: float = 60) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        generation = current_generation(index_dir)
        if generation is not None and (generation / GRAPH_META).is_file():
            return True
        time.sleep(0.05)
    return False


def test_an_upload_past_the_threshold_is_searched_then_graphed_in_the_background(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    config = IndexConfig(Path("index"), store=StoreSpec(ann_threshold=1))
    assistant = make_assistant(retriever)
    library = DocumentLibrary(assistant, config, tmp_path / "uploads", UploadLimits())
    source = tmp_path / "incoming.md"
    source.write_text(TEXT)
    report = library.add_files([(source, "zorblax.md")])
    assert report.added and not report.failed
    hits = assistant.retriever.retrieve("Zorblax protocol Quillon council", 1)
    assert hits and "Zorblax" in hits[0].chunk.text  # at once, before any graph
    assert _graph_built(config.dir), "the background compaction never switched to a graph"
    assert library.follow_index()  # the page's next question searches the new generation
    store = assistant.retriever.state.store
    assert isinstance(store, FaissStore) and store.kind == "hnsw" and store.exact_count == 0
    hits = assistant.retriever.retrieve("Zorblax protocol Quillon council", 1)
    assert hits and "Zorblax" in hits[0].chunk.text
