"""One contract for every VectorStore: FAISS, Milvus Lite in a temporary folder, and a real
Milvus server on loopback (a collection per store)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.errors import VectorStoreError
from index.faiss_store import FaissStore
from index.stores import VectorStore, open_store
from tests.support.milvus import MILVUS_KINDS, fresh_collection, target

StoreFactory = Callable[[int], VectorStore]
BIG = 2**60  # chunk ids are 60-bit hashes; the stores must keep them exact


class _GraphAtOnce(FaissStore):
    """FAISS with every added vector placed into the HNSW graph at once (a build, then
    extensions), so the contract holds for the graph, its masks and the exact part beside it."""

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        super().add(ids, vectors)
        work = self.graph_due() or "extend"
        self.adopt(self.new_graph(work), self.graph.name if self.graph else None)


@pytest.fixture(params=["faiss", "faiss-graph", *MILVUS_KINDS])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "faiss":
        return FaissStore
    if request.param == "faiss-graph":
        return lambda dim: _GraphAtOnce(dim, ann_threshold=1)
    from index.milvus_store import MilvusStore

    uri = target(request.param, request, tmp_path).uri
    # A fresh collection per store: one database (or server) per test holds several.
    return lambda dim: MilvusStore(dim, uri, fresh_collection())


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def test_search_matches_brute_force_numpy(make_store: StoreFactory) -> None:
    vectors, queries = _unit(300, 32, 1), _unit(10, 32, 2)
    ids = [BIG + 7 * i for i in range(300)]
    store = make_store(32)
    store.add(ids, vectors)
    assert len(store) == 300
    for query in queries:
        expected = np.argsort(-(vectors @ query))[:10]
        got = store.search(query, 10)
        assert [i for i, _ in got] == [ids[j] for j in expected]
        np.testing.assert_allclose([s for _, s in got], (vectors @ query)[expected], rtol=1e-5)


def test_removed_ids_are_gone_from_search_len_and_vectors(make_store: StoreFactory) -> None:
    vectors = _unit(10, 8, 3)
    ids = [BIG + i for i in range(9)] + [2**62 + 1]
    store = make_store(8)
    store.add(ids, vectors)
    best = [i for i, _ in store.search(vectors[3], 3)]
    store.remove(best)
    assert len(store) == 7
    found = store.search(vectors[3], 3)
    assert len(found) == 3 and not set(best) & {i for i, _ in found}  # still k hits
    assert len(store.search(vectors[3], 100)) == 7
    kept = [i for i in ids if i not in best][::-1]
    np.testing.assert_allclose(
        store.vectors(kept), vectors[[ids.index(i) for i in kept]], rtol=1e-6
    )
    with pytest.raises(VectorStoreError):  # the same kb error from every store
        store.vectors([best[0]])


def test_an_id_removed_then_added_again_stays(make_store: StoreFactory) -> None:
    vectors = _unit(3, 8, 4)
    store = make_store(8)
    store.add([BIG, BIG + 1], vectors[:2])
    store.remove([BIG])
    store.add([BIG], vectors[2:])  # a changed file can keep a chunk with the same id
    store.committed()
    assert len(store) == 2
    assert store.search(vectors[2], 1)[0][0] == BIG
    np.testing.assert_allclose(store.vectors([BIG]), vectors[2:], rtol=1e-6)


def test_save_and_open_store_round_trip(make_store: StoreFactory, tmp_path: Path) -> None:
    vectors = _unit(40, 16, 5)
    ids = [2**62 - 40 + i for i in range(40)]
    store = make_store(16)
    store.add(ids, vectors)
    store.remove(ids[:4])
    folder = tmp_path / "generation"
    folder.mkdir()
    store.save(folder)
    loaded = open_store(folder)
    assert loaded.dimension == 16 and len(loaded) == 36
    before, after = store.search(vectors[7], 5), loaded.search(vectors[7], 5)
    assert [i for i, _ in after] == [i for i, _ in before]
    np.testing.assert_allclose([s for _, s in after], [s for _, s in before], rtol=1e-6)
    assert ids[0] not in [i for i, _ in loaded.search(vectors[0], 5)]
    np.testing.assert_allclose(loaded.vectors(ids[10:13]), vectors[10:13], rtol=1e-6)


def test_empty_store_returns_nothing(make_store: StoreFactory) -> None:
    store = make_store(4)
    query = np.ones(4, dtype=np.float32) / 2
    assert len(store) == 0 and store.search(query, 5) == []
    assert store.vectors([]).shape == (0, 4)
    store.add([1], query.reshape(1, 4))
    assert store.search(query, 0) == []


def test_committed_is_safe_at_any_time(make_store: StoreFactory, tmp_path: Path) -> None:
    vectors = _unit(5, 8, 6)
    store = make_store(8)
    store.committed()
    store.add(list(range(5)), vectors)
    store.committed()
    store.remove([0, 1, 99])  # 99 was never added
    store.save(tmp_path)
    store.committed()
    store.committed()
    assert len(store) == 3
    assert {i for i, _ in store.search(vectors[0], 5)} == {2, 3, 4}
