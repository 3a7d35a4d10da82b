"""The search graph's upkeep on a real index folder: built after an ingest crosses the
threshold, kept (hard-linked) by the ingests after it, and adopted by an index that an ingest
changed while the graph was being made."""

from pathlib import Path

import pytest

from index import compaction
from index.builder import ingest_paths
from index.compaction import compact, compact_in_background
from index.config import IndexConfig
from index.faiss_store import FaissStore
from index.hnsw_graph import GRAPH_META
from index.retriever import HybridRetriever
from index.storage import current_generation, load_index
from index.stores import StoreSpec, describe_store
from tests.support.fakes import HashingEmbedder

WORDS = [
    "licence",
    "weights",
    "hosting",
    "latency",
    "privacy",
    "budget",
    "vendor",
    "audit",
    "cluster",
    "token",
]


@pytest.fixture
def config(tmp_path: Path) -> IndexConfig:
    return IndexConfig(tmp_path / "index", store=StoreSpec(ann_threshold=30), base=tmp_path)


def _write(folder: Path, names: range, marker: str = "") -> None:
    folder.mkdir(exist_ok=True)
    for n in names:
        name = "".join(chr(ord("a") + int(d)) for d in str(n))  # a word of its own: 7 -> "h"
        lines = [f"Document zz{name} {marker} on {WORDS[n % len(WORDS)]}."] * 3
        (folder / f"doc{n:03d}.md").write_text(f"# Doc {n}\n\n" + "\n\n".join(lines))


def _store(config: IndexConfig) -> FaissStore:
    store = load_index(config.dir, config.store).store
    assert isinstance(store, FaissStore)
    return store


def test_an_ingest_past_the_threshold_leaves_a_build_that_compact_does(
    config: IndexConfig, tmp_path: Path
) -> None:
    _write(tmp_path / "docs", range(40))
    ingest_paths([tmp_path / "docs"], config, HashingEmbedder(64))
    assert _store(config).kind == "exact" and _store(config).graph_due() == "build"
    assert compact(config) == "build"
    store = _store(config)
    assert store.kind == "hnsw" and store.exact_count == 0 and store.graph_due() is None
    assert compact(config) is None  # nothing left to do
    generation = current_generation(config.dir)
    assert generation is not None
    described = describe_store(generation)  # what kb doctor shows
    assert described["search"] == "hnsw" and described["graph"].endswith(
        "0 of them removed since (0%)"
    )
    state = load_index(config.dir, config.store)
    hits = HybridRetriever(state, HashingEmbedder(64)).retrieve("Document zzh", 3)
    assert hits and hits[0].chunk.source == "docs/doc007.md"


def test_ingests_after_the_build_keep_its_file_and_search_their_changes(
    config: IndexConfig, tmp_path: Path
) -> None:
    _write(tmp_path / "docs", range(40))
    ingest_paths([tmp_path / "docs"], config, HashingEmbedder(64))
    compact(config)
    graph = _store(config).graph
    assert graph is not None
    before = current_generation(config.dir)
    _write(tmp_path / "docs", range(40, 42), "fresh")
    ingest_paths([tmp_path / "docs"], config, HashingEmbedder(64))
    after = current_generation(config.dir)
    assert before and after and after != before
    assert (after / graph.name).stat().st_ino == (before / graph.name).stat().st_ino
    state = load_index(config.dir, config.store)
    hits = HybridRetriever(state, HashingEmbedder(64)).retrieve("Document zzeb fresh", 1)
    assert hits[0].chunk.source == "docs/doc041.md"


def test_a_graph_made_while_an_ingest_ran_is_adopted_with_that_ingests_changes(
    config: IndexConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(40))
    ingest_paths([docs], config, HashingEmbedder(64))
    removed = load_index(config.dir, config.store).files["docs/doc039.md"].chunk_ids
    made_from = compaction._new_graph

    def made_then_changed(config: IndexConfig):  # type: ignore[no-untyped-def]
        made = made_from(config)
        _write(docs, range(3), "rewritten")  # while the graph was being made
        (docs / "doc039.md").unlink()
        ingest_paths([docs], config, HashingEmbedder(64))
        return made

    monkeypatch.setattr(compaction, "_new_graph", made_then_changed)
    assert compact(config) == "build"
    state = load_index(config.dir, config.store)
    assert isinstance(state.store, FaissStore) and state.store.kind == "hnsw"
    vectors = sum(1 + state.windows.get(c, 0) for c in state.chunks)
    assert len(state.store) == vectors and "docs/doc039.md" not in state.files
    retriever = HybridRetriever(state, HashingEmbedder(64))
    assert retriever.retrieve("Document zzb rewritten", 1)[0].chunk.source == "docs/doc001.md"
    query = HashingEmbedder(64).embed(["Document zzdj on audit"])[0]
    found = {i for i, _ in state.store.search(query, len(state.store))}
    assert not found & set(removed)  # in the new graph, and masked there


def test_one_background_compaction_at_a_time(config: IndexConfig, tmp_path: Path) -> None:
    _write(tmp_path / "docs", range(40))
    ingest_paths([tmp_path / "docs"], config, HashingEmbedder(64))
    first = compact_in_background(config)
    assert first is not None
    second = compact_in_background(config)
    first.join(timeout=120)
    assert second is None or second.join(timeout=120) is None
    assert (current_generation(config.dir) / GRAPH_META).is_file()  # type: ignore[operator]
