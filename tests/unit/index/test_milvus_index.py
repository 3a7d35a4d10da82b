"""Milvus Lite and a Milvus server: deletes wait for the switch, rebuilds, errors, and an index built on it."""

import socket
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.milvus_server import RunningMilvus
from index.builder import ingest_paths
from index.config import IndexConfig
from index.errors import IndexMismatchError, VectorStoreError
from index.retriever import HybridRetriever
from index.storage import load_index
from index.stores import open_store
from tests.conftest import milvus_available, require
from tests.support.fakes import HashingEmbedder
from tests.support.milvus import (
    LITE_MISSING,
    MILVUS_KINDS,
    MilvusTarget,
    fresh_collection,
    target,
)

IDS = [2**60 + i for i in range(6)]


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """Milvus Lite only: its paths, and what a client is given."""
    require(milvus_available(), LITE_MISSING)
    return str(tmp_path / "milvus.db")


@pytest.fixture(params=MILVUS_KINDS)
def milvus(request: pytest.FixtureRequest, tmp_path: Path) -> MilvusTarget:
    """Milvus Lite, or a collection of this test's own on the session's Milvus server."""
    return target(request.param, request, tmp_path)


def _unit(rows: int, dim: int) -> np.ndarray:
    data = np.random.default_rng(0).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def _stored_ids(milvus: MilvusTarget, ids: list[int]) -> list[int]:
    """What the collection really holds of `ids`, asked through pymilvus itself."""
    from pymilvus import MilvusClient

    rows = MilvusClient(milvus.uri).get(milvus.collection, ids=ids, output_fields=["id"])
    return sorted(int(r["id"]) for r in rows)


def _generation(tmp_path: Path, name: str, store: Any) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    store.save(folder)
    return folder


def test_removed_vectors_stay_until_the_generation_after_next_is_committed(
    milvus: MilvusTarget, tmp_path: Path
) -> None:
    """A page still answering from the generation before the current one finds its vectors;
    they go when the next generation is committed."""
    from index.milvus_store import MilvusStore

    vectors = _unit(6, 8)
    store = MilvusStore(8, milvus.uri, milvus.collection)
    store.add(IDS, vectors)
    old = _generation(tmp_path, "gen-1", store)
    store.remove(IDS[:2])
    new = _generation(tmp_path, "gen-2", store)
    # Before the switch: the old generation still finds everything, the new one hides the two.
    np.testing.assert_allclose(open_store(old).vectors(IDS[:2]), vectors[:2], rtol=1e-6)
    assert len(open_store(old)) == 6 and len(open_store(new)) == 4
    assert _stored_ids(milvus, IDS) == IDS
    store.committed()
    np.testing.assert_allclose(open_store(old).vectors(IDS[:2]), vectors[:2], rtol=1e-6)
    _generation(tmp_path, "gen-3", store)
    store.committed()  # gen-3 is current: nobody loads gen-1 any more
    assert _stored_ids(milvus, IDS) == IDS[2:] and len(open_store(old)) == 4
    with pytest.raises(VectorStoreError, match="index changed"):
        open_store(old).vectors(IDS[:1])


def test_a_crash_before_committed_still_hides_and_later_deletes(
    milvus: MilvusTarget, tmp_path: Path
) -> None:
    from index.milvus_store import MilvusStore

    store = MilvusStore(8, milvus.uri, milvus.collection)
    store.add(IDS, _unit(6, 8))
    store.remove(IDS[:3])
    current = _generation(tmp_path, "gen-2", store)  # switched, then the process died
    reopened = open_store(current)
    assert len(reopened) == 3 and IDS[0] not in dict(reopened.search(_unit(6, 8)[0], 6))
    assert _stored_ids(milvus, IDS) == IDS
    reopened.committed()
    assert _stored_ids(milvus, IDS) == IDS[3:]


def test_a_new_store_on_a_used_collection_starts_empty(milvus: MilvusTarget) -> None:
    from index.milvus_store import MilvusStore

    vectors = _unit(6, 8)
    MilvusStore(8, milvus.uri, milvus.collection).add(IDS, vectors)
    rebuilt = MilvusStore(8, milvus.uri, milvus.collection)  # `kb ingest --rebuild`
    assert len(rebuilt) == 0 and rebuilt.search(vectors[0], 3) == []
    rebuilt.add(IDS[:1], vectors[:1])
    rebuilt.committed()  # the old rows the rebuild did not add again go
    assert _stored_ids(milvus, IDS) == IDS[:1]


def test_another_dimension_is_a_mismatch_naming_the_setting(milvus: MilvusTarget) -> None:
    from index.milvus_store import MilvusStore

    MilvusStore(8, milvus.uri, milvus.collection)
    with pytest.raises(IndexMismatchError, match="KB_INDEX__MILVUS_COLLECTION"):
        MilvusStore(16, milvus.uri, milvus.collection)


def test_bad_lite_paths_are_named(tmp_path: Path, uri: str) -> None:
    from index.milvus_store import MilvusStore

    with pytest.raises(VectorStoreError, match=r"must end in \.db"):
        MilvusStore(8, str(tmp_path / "milvus.sqlite"), "kb_chunks")
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "vectors.milvus.json").write_text(
        '{"uri": "%s", "collection": "kb_chunks", "dimension": 8}' % (tmp_path / "gone.db")
    )
    with pytest.raises(VectorStoreError, match="no Milvus Lite database"):
        open_store(tmp_path / "gen")


def test_without_pymilvus_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from index.milvus_store import MilvusStore

    monkeypatch.setitem(sys.modules, "pymilvus", None)  # makes `import pymilvus` fail
    with pytest.raises(VectorStoreError, match=r"pip install 'kb\[milvus\]'"):
        MilvusStore(8, "x.db", "kb_chunks")


def test_a_cluster_gets_the_token_from_the_environment_or_dotenv(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pymilvus

    from index import milvus_store

    seen: list[dict[str, str]] = []
    monkeypatch.setattr(pymilvus, "MilvusClient", lambda **kw: seen.append(kw))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("KB_MILVUS_TOKEN=from-dotenv\n")
    milvus_store._connect("https://milvus.example:19530", create=True)
    monkeypatch.setenv("KB_MILVUS_TOKEN", "user:secret")
    milvus_store._connect("https://milvus.example:19530", create=True)
    milvus_store._connect(uri, create=True)
    assert seen == [
        {"uri": "https://milvus.example:19530", "token": "from-dotenv"},
        {"uri": "https://milvus.example:19530", "token": "user:secret"},
        {"uri": uri, "token": ""},  # Milvus Lite has no users
    ]


def test_an_index_on_milvus_follows_file_changes(
    milvus: MilvusTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about licences and open weights.\n")
    (docs / "b.txt").write_text("Bravo discusses hosting costs at scale.\n")
    embedder, spec = HashingEmbedder(64), milvus.spec

    def ask(question: str) -> list[str]:
        state = load_index(Path("index"))
        assert len(state.store) == len(state.chunks)
        return [h.chunk.text for h in HybridRetriever(state, embedder).retrieve(question, 1)]

    ingest_paths([docs], IndexConfig(Path("index"), store=spec), embedder)
    assert "licences" in ask("licences open weights")[0]
    old_ids = list(load_index(Path("index")).files["docs/a.md"].chunk_ids)
    (docs / "a.md").write_text("# Alpha\n\nAlpha now covers privacy on premises.\n")
    report = ingest_paths([docs], IndexConfig(Path("index"), store=spec), embedder)
    assert report.updated == ["docs/a.md"]
    assert _stored_ids(milvus, old_ids) == old_ids  # hidden: the generation before may be in use
    assert not any("licences" in text for text in ask("licences open weights"))
    assert "privacy" in ask("privacy on premises")[0]
    (docs / "b.txt").write_text("Bravo now discusses GPUs.\n")
    ingest_paths([docs], IndexConfig(Path("index"), store=spec), embedder)
    assert _stored_ids(milvus, old_ids) == []  # deleted one generation later


def test_a_page_answers_while_ingests_replace_documents(
    milvus: MilvusTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, item 4: the page keeps answering from the generation it loaded while other
    ingests replace its documents; vectors gone meanwhile leave passages out, never a
    KeyError."""
    import threading

    from assistant.answering.models import AnswerOptions
    from assistant.answering.pipeline import Assistant
    from assistant.backends.fallback import fixed_chain
    from tests.support.fakes import ScriptedChatModel

    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about licences and open weights.\n")
    embedder, spec = HashingEmbedder(64), milvus.spec
    ingest_paths([docs], IndexConfig(Path("index"), store=spec), embedder)
    page = Assistant(
        HybridRetriever(load_index(Path("index")), embedder),
        fixed_chain(ScriptedChatModel(["Alpha talks about licences [1]."])),
        embedder,
        AnswerOptions(min_relevance=0.0),
    )
    errors: list[str] = []
    done = threading.Event()

    def answer_until_done() -> None:
        while not done.is_set():
            try:
                page.ask("What does Alpha talk about?")
            except Exception as exc:  # any failure of the page is the finding
                errors.append(repr(exc))

    asking = threading.Thread(target=answer_until_done)
    asking.start()
    try:
        for n in range(4):
            (docs / "a.md").write_text(f"# Alpha\n\nAlpha talks about topic {n} today.\n")
            ingest_paths([docs], IndexConfig(Path("index"), store=spec), embedder)
    finally:
        done.set()
        asking.join(60)
    assert errors == []
    assert page.ask("What does Alpha talk about?").text  # still answering after four swaps


def test_a_server_with_authorization_takes_the_token_from_kb_milvus_token(
    milvus_auth_server: RunningMilvus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from index.milvus_store import MilvusStore

    monkeypatch.chdir(tmp_path)  # no .env here
    collection, vectors = fresh_collection(), _unit(6, 8)
    with pytest.raises(VectorStoreError, match="KB_MILVUS_TOKEN") as refused:
        MilvusStore(8, milvus_auth_server.uri, collection)
    monkeypatch.setenv("KB_MILVUS_TOKEN", "root:wrong-password")
    with pytest.raises(VectorStoreError, match="KB_MILVUS_TOKEN") as wrong:
        MilvusStore(8, milvus_auth_server.uri, collection)
    assert "wrong-password" not in str(wrong.value)  # the token is never shown
    monkeypatch.setenv("KB_MILVUS_TOKEN", milvus_auth_server.token or "")
    store = MilvusStore(8, milvus_auth_server.uri, collection)
    store.add(IDS, vectors)
    assert store.search(vectors[2], 1)[0][0] == IDS[2]
    print(f"\nwithout a token: {refused.value}\nwrong token: {wrong.value}")


def test_a_server_that_is_not_running_is_named_so() -> None:
    require(milvus_available(), LITE_MISSING)
    from index.milvus_store import MilvusStore

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VectorStoreError, match="is the Milvus server running"):
        MilvusStore(8, f"http://127.0.0.1:{port}", fresh_collection())


def test_rows_an_ingest_left_when_it_died_go_with_the_next_ingest(
    milvus: MilvusTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus import MilvusClient

    from index.storage import WRITING

    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about licences and open weights.\n")
    embedder = HashingEmbedder(8)
    ingest_paths([docs], IndexConfig(Path("index"), store=milvus.spec), embedder)
    assert not (tmp_path / "index" / WRITING).exists()  # a finished ingest leaves no mark
    # What a writer killed after its upserts and before its switch leaves: rows in no
    # generation, and its mark.
    orphans = [{"id": 2**61 + n, "vector": v.tolist()} for n, v in enumerate(_unit(3, 8))]
    MilvusClient(milvus.uri).upsert(milvus.collection, orphans)
    (tmp_path / "index" / WRITING).write_text("12345")
    assert len(_stored_ids(milvus, [o["id"] for o in orphans])) == 3
    report = ingest_paths([docs], IndexConfig(Path("index"), store=milvus.spec), embedder)
    assert not report.changed  # nothing to read: the sweep alone
    assert _stored_ids(milvus, [o["id"] for o in orphans]) == []
    assert not (tmp_path / "index" / WRITING).exists()
