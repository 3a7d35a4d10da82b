"""A removed document leaves no trace, in FAISS, Milvus Lite and a Milvus server: not in the files or chunks,
not among the vectors (its windows' included), not in BM25, and (Milvus, which hides first and
deletes a generation later) not in the collection once the next generation is current."""

from pathlib import Path

import numpy as np
import pytest

from index.builder import ingest_paths, remove_sources
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import IndexState, load_index
from index.stores import StoreSpec
from index.windows import WindowParams, vector_ids
from tests.support.fakes import HashingEmbedder
from tests.support.milvus import MILVUS_KINDS, target

EMBEDDER = HashingEmbedder(64)
WINDOWS = WindowParams(limit=40)  # long chunks get window vectors: they must go too
LONG = " ".join(f"Zebra sentence number {n} names the zebra licence." for n in range(40))


@pytest.fixture(params=["faiss", *MILVUS_KINDS])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    if request.param == "faiss":
        return StoreSpec()
    return target(request.param, request, tmp_path).spec


def _vectors_of(state: IndexState, source: str) -> list[int]:
    chunks = state.files[source].chunk_ids
    return [v for c in chunks for v in vector_ids(c, state.windows.get(c, 0))]


def test_a_removed_document_leaves_no_trace(spec: StoreSpec, tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "zebra.md").write_text(f"# Zebra\n\n{LONG}\n")
    (docs / "other.md").write_text("# Other\n\nHosting costs at scale, measured on GPUs.\n")

    config = IndexConfig(index_dir, store=spec, windows=WINDOWS, base=tmp_path)

    def ingest() -> None:
        ingest_paths([docs], config, EMBEDDER)

    ingest()
    before = load_index(index_dir, spec)
    gone = _vectors_of(before, "docs/zebra.md")
    assert len(gone) > len(before.files["docs/zebra.md"].chunk_ids)  # windows among them
    zebra_vector = EMBEDDER.embed(["zebra licence"])[0]
    before.store.close()

    report = remove_sources(config, ["docs/zebra.md"])
    assert report.removed == ["docs/zebra.md"]
    state = load_index(index_dir, spec)
    assert set(state.files) == {"docs/other.md"}
    assert all(c.source == "docs/other.md" for c in state.chunks.values())
    assert not set(gone) & set(state.windows)
    assert len(state.store) == len(_vectors_of(state, "docs/other.md"))
    found = {i for i, _ in state.store.search(zebra_vector, 100)}
    assert not found & set(gone)
    retriever = HybridRetriever(state, EMBEDDER)
    assert all(h.chunk.source == "docs/other.md" for h in retriever.retrieve("zebra licence", 10))
    assert not retriever._bm25.search("zebra", 10)  # BM25 holds no word of it
    state.store.close()
    if spec.kind == "milvus":
        (docs / "zebra.md").unlink()
        (docs / "other.md").write_text("# Other\n\nHosting costs, measured again.\n")
        ingest()  # the next generation: Milvus deletes what it hid
        from pymilvus import MilvusClient

        rows = MilvusClient(spec.milvus_uri).get(
            spec.milvus_collection, ids=gone, output_fields=["id"]
        )
        assert rows == []


def test_removing_nothing_known_writes_no_generation(tmp_path: Path) -> None:
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nSomething.\n")
    config = IndexConfig(index_dir, base=tmp_path)
    ingest_paths([docs], config, EMBEDDER)
    current = (index_dir / "CURRENT").read_text()
    report = remove_sources(config, ["docs/nope.md"])
    assert report.removed == [] and (index_dir / "CURRENT").read_text() == current
    assert np.isfinite(report.seconds)
