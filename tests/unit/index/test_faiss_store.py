from pathlib import Path

import numpy as np
import pytest

from index.errors import VectorStoreError
from index.faiss_store import FLAT_FILE, FaissStore


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def test_search_matches_brute_force_numpy() -> None:
    vectors, queries = _unit(500, 32, 1), _unit(20, 32, 2)
    ids = list(range(10_000, 10_500))
    store = FaissStore(32)
    store.add(ids, vectors)
    for query in queries:
        expected = np.argsort(-(vectors @ query))[:10]
        got = store.search(query, 10)
        assert [i for i, _ in got] == [ids[j] for j in expected]
        np.testing.assert_allclose([s for _, s in got], (vectors @ query)[expected], rtol=1e-5)


def test_remove_and_reconstruct_by_id() -> None:
    vectors = _unit(10, 8, 3)
    store = FaissStore(8)
    store.add([2**59 + i for i in range(10)], vectors)
    store.remove([2**59 + 3])
    assert len(store) == 9
    assert 2**59 + 3 not in [i for i, _ in store.search(vectors[3], 10)]
    np.testing.assert_allclose(store.vectors([2**59 + 5]), vectors[5:6], rtol=1e-6)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    vectors = _unit(50, 16, 4)
    store = FaissStore(16)
    store.add(list(range(50)), vectors)
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path)
    assert loaded.kind == "exact"
    assert loaded.search(vectors[7], 3) == store.search(vectors[7], 3)


def test_empty_store_returns_nothing() -> None:
    assert FaissStore(4).search(np.ones(4, dtype=np.float32), 5) == []


def test_a_missing_file_is_file_not_found_and_a_corrupt_one_a_store_error(tmp_path: Path) -> None:
    """`load_index` retries a load whose generation vanished (FileNotFoundError); FAISS itself
    raises a bare RuntimeError for both cases, which a reader racing two switches once met."""
    with pytest.raises(FileNotFoundError):
        FaissStore.load(tmp_path)
    (tmp_path / FLAT_FILE).write_bytes(b"not a faiss index")
    with pytest.raises(VectorStoreError, match="cannot read"):
        FaissStore.load(tmp_path)
