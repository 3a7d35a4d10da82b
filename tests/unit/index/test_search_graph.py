"""The HNSW graph kept across saves: new vectors beside it, removed ones masked, the file
hard-linked into each generation, and a new graph adopted by a store that changed meanwhile."""

from pathlib import Path

import numpy as np
import pytest

from index import faiss_store
from index.faiss_store import FaissStore
from index.hnsw_graph import GRAPH_META, HnswGraph


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def _with_graph(vectors: np.ndarray, threshold: int) -> FaissStore:
    store = FaissStore(vectors.shape[1], ann_threshold=threshold)
    store.add(list(range(len(vectors))), vectors)
    assert store.graph_due() == "build"
    assert store.adopt(store.new_graph("build"), None)
    return store


def _top(store: FaissStore, query: np.ndarray, k: int = 5) -> list[int]:
    return [i for i, _ in store.search(query, k)]


def test_below_the_threshold_no_graph_is_due_or_written(tmp_path: Path) -> None:
    store = FaissStore(8, ann_threshold=100)
    store.add(list(range(99)), _unit(99, 8, 8))
    assert store.graph_due() is None
    store.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.faiss"]
    store.add([99], _unit(1, 8, 9))
    assert store.graph_due() == "build"


def test_a_saved_graph_is_searched_with_high_recall(tmp_path: Path) -> None:
    vectors, queries = _unit(3000, 32, 5), _unit(50, 32, 6)
    _with_graph(vectors, 2000).save(tmp_path)
    loaded = FaissStore.load(tmp_path, ann_threshold=2000)
    assert loaded.kind == "hnsw" and loaded.exact_count == 0 and len(loaded) == 3000
    found = 0
    for query in queries:
        exact = set(np.argsort(-(vectors @ query))[:10].tolist())
        found += len(exact & set(_top(loaded, query, 10)))
    assert found / 500 >= 0.95


def test_added_vectors_are_searched_exactly_and_removed_ones_masked(tmp_path: Path) -> None:
    vectors = _unit(600, 16, 7)
    store = _with_graph(vectors[:500], 100)
    store.add(list(range(500, 600)), vectors[500:])
    store.remove([3, 550])
    assert store.exact_count == 99 and len(store) == 598
    assert _top(store, vectors[520], 1) == [520]
    assert 3 not in _top(store, vectors[3], 20) and 550 not in _top(store, vectors[550], 20)
    assert len(store.search(vectors[3], 20)) == 20  # masked inside the search: still k results
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, ann_threshold=100)
    assert 3 not in _top(loaded, vectors[3], 20) and _top(loaded, vectors[520], 1) == [520]
    np.testing.assert_allclose(loaded.vectors([7, 520]), vectors[[7, 520]], atol=1e-6)


def test_a_vector_added_again_under_a_graph_id_replaces_the_graphs_copy() -> None:
    vectors = _unit(300, 16, 11)
    store = _with_graph(vectors[:200], 100)
    store.remove([5])
    store.add([5], vectors[250:251])  # a re-read chunk: same id, new text
    assert _top(store, vectors[250], 1) == [5]
    assert 5 not in _top(store, vectors[5], 3)  # the old vector is masked, not found twice
    np.testing.assert_allclose(store.vectors([5])[0], vectors[250], atol=1e-6)


def test_the_graph_file_is_linked_into_the_next_generation_not_written(tmp_path: Path) -> None:
    first, second = tmp_path / "gen-1", tmp_path / "gen-2"
    first.mkdir(), second.mkdir()
    _with_graph(_unit(300, 16, 12), 100).save(first)
    loaded = FaissStore.load(first, ann_threshold=100)
    loaded.add([1000], _unit(1, 16, 13))
    loaded.save(second)
    graph = loaded.graph
    assert graph is not None
    a, b = (first / graph.name).stat(), (second / graph.name).stat()
    assert a.st_ino == b.st_ino and b.st_nlink == 2
    (first / graph.name).unlink()  # the older generation goes: the newer still has the file
    assert FaissStore.load(second, ann_threshold=100).search(_unit(1, 16, 13)[0], 1)[0][0] == 1000


def test_due_work_is_extend_past_the_exact_limit_and_rebuild_past_the_masked_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faiss_store, "EXTEND_AT", 50)
    vectors = _unit(400, 16, 14)
    store = _with_graph(vectors[:200], 100)
    assert store.graph_due() is None
    store.add(list(range(200, 260)), vectors[200:260])
    assert store.graph_due() == "extend"
    graph = store.new_graph("extend")
    assert store.adopt(graph, store.graph.name if store.graph else None)
    assert store.exact_count == 0 and len(graph.ids) == 260 and store.graph_due() is None
    store.remove(list(range(60)))  # 60 of 260 masked: over the 20 % share
    assert store.graph_due() == "rebuild"
    rebuilt = store.new_graph("rebuild")
    assert len(rebuilt.ids) == 200 and not rebuilt.removed


def test_a_graph_made_from_an_older_copy_keeps_the_changes_made_since() -> None:
    vectors = _unit(700, 16, 15)
    store = _with_graph(vectors[:400], 100)
    snapshot = FaissStore(16, ann_threshold=100, graph=store.graph)
    snapshot.add(list(range(400, 500)), vectors[400:500])
    made = snapshot.new_graph("extend")
    # meanwhile the live store got the same 100, then more, lost some, and changed one
    store.add(list(range(400, 500)), vectors[400:500])
    store.add(list(range(500, 520)), vectors[500:520])
    store.remove([10, 450])
    store.remove([420])
    store.add([420], vectors[600:601])
    assert store.adopt(made, None if store.graph is None else store.graph.name)
    assert store.exact_count == 21  # 500..519 and the changed 420
    assert len(store) == 400 + 100 + 20 - 2
    assert _top(store, vectors[510], 1) == [510] and _top(store, vectors[600], 1) == [420]
    for gone in (10, 450):
        assert gone not in _top(store, vectors[gone], 20)
    assert 420 not in _top(store, vectors[420], 3)  # its old vector is masked


def test_a_store_that_got_another_graph_meanwhile_refuses_one_made_earlier() -> None:
    vectors = _unit(300, 16, 16)
    store = _with_graph(vectors[:200], 100)
    assert store.graph is not None
    first = store.graph.name
    earlier = store.new_graph("rebuild")
    assert store.adopt(store.new_graph("rebuild"), first)
    graph = store.graph
    assert not store.adopt(earlier, first)
    assert store.graph is graph


def test_a_generation_with_the_old_graph_file_loads_as_exact(tmp_path: Path) -> None:
    vectors = _unit(300, 16, 17)
    store = FaissStore(16, ann_threshold=100)
    store.add(list(range(300)), vectors)
    store.save(tmp_path)
    (tmp_path / "vectors.hnsw.faiss").write_bytes(b"a graph as kb wrote it before")
    loaded = FaissStore.load(tmp_path, ann_threshold=100)
    assert loaded.kind == "exact" and loaded.graph_due() == "build"
    assert not (tmp_path / GRAPH_META).exists()
    assert _top(loaded, vectors[42], 1) == [42]


def test_a_graph_read_back_is_memory_mapped_and_never_written_to(tmp_path: Path) -> None:
    _with_graph(_unit(300, 16, 18), 100).save(tmp_path)
    graph = HnswGraph.read(tmp_path)
    assert graph is not None and graph.path == tmp_path / graph.name
    before = (tmp_path / graph.name).stat().st_mtime_ns
    store = FaissStore(16, ann_threshold=100, graph=graph)
    store.add([5000], _unit(1, 16, 19))  # goes to the exact part: adding to a mapped graph aborts
    store.remove([1])
    assert (tmp_path / graph.name).stat().st_mtime_ns == before
