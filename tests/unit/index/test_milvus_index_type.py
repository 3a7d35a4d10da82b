"""KB_INDEX__MILVUS_INDEX: a new collection's index type (FLAT or HNSW) is kept with the generation."""

from pathlib import Path

import numpy as np
import pytest

from assistant.settings import Settings
from assistant.wiring import index_config
from index.errors import VectorStoreError
from index.milvus_store import MilvusStore
from index.stores import StoreSpec, open_store
from tests.conftest import milvus_available, require


@pytest.fixture
def uri(tmp_path: Path) -> str:
    require(
        milvus_available(),
        "pymilvus and milvus-lite are not installed (pip install -e '.[milvus]')",
    )
    return str(tmp_path / "milvus.db")


def test_the_setting_reaches_the_index_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert index_config(Settings()).store.milvus_index == "FLAT"
    monkeypatch.setenv("KB_INDEX__MILVUS_INDEX", "HNSW")
    assert index_config(Settings()).store.milvus_index == "HNSW"


def test_an_hnsw_store_searches_and_reopens_as_hnsw(uri: str, tmp_path: Path) -> None:
    vectors = np.eye(8, dtype=np.float32)
    store = StoreSpec(kind="milvus", milvus_uri=uri, milvus_index="HNSW").create(8)
    assert isinstance(store, MilvusStore) and store.index_type == "HNSW"
    store.add(list(range(8)), vectors)
    store.save(tmp_path)
    store.close()
    reopened = open_store(tmp_path)
    assert isinstance(reopened, MilvusStore) and reopened.index_type == "HNSW"
    assert reopened.search(vectors[3], 2)[0][0] == 3
    reopened.close()


def test_an_unknown_index_type_names_the_setting(uri: str) -> None:
    with pytest.raises(VectorStoreError, match="KB_INDEX__MILVUS_INDEX"):
        MilvusStore(8, uri, "kb_chunks", index_type="IVF_PQ")
