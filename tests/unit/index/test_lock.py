"""The index writer lock: one holder, a clear refusal, waiting, threads, and ingest holding it."""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from index import builder
from index.builder import ingest_paths
from index.config import IndexConfig
from index.errors import IndexBusyError
from index.lock import LOCK_FILE, index_lock
from index.storage import load_index
from tests.support.fakes import HashingEmbedder


def test_the_holder_writes_its_pid_and_clears_it_on_release(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    with index_lock(index_dir, 0):
        assert (index_dir / LOCK_FILE).read_text().strip() == str(os.getpid())
    assert (index_dir / LOCK_FILE).read_text() == ""  # the file stays, empty
    with index_lock(index_dir, 0):  # and can be taken again
        pass


def test_a_second_holder_is_refused_with_the_folder_and_pid(tmp_path: Path) -> None:
    # each holder opens its own file description: the same process is refused like another one
    with index_lock(tmp_path, 0), pytest.raises(IndexBusyError) as caught, index_lock(tmp_path, 0):
        pass
    message = str(caught.value)
    assert f"another ingest is running on {tmp_path} (pid {os.getpid()})" in message
    assert "try again when it finishes" in message


def test_waiting_gives_up_after_the_timeout(tmp_path: Path) -> None:
    with index_lock(tmp_path, 0):
        started = time.monotonic()
        with pytest.raises(IndexBusyError), index_lock(tmp_path, 0.2):
            pass
        assert 0.2 <= time.monotonic() - started < 2


def test_a_waiting_thread_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with index_lock(tmp_path, 0):
            held.set()
            time.sleep(0.2)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with index_lock(tmp_path, 5):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


class BlockingEmbedder(HashingEmbedder):
    """Stops in `embed` until released, so a test can act while an ingest is mid-run."""

    def __init__(self) -> None:
        super().__init__(64)
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed(self, texts: list[str]) -> np.ndarray:
        self.entered.set()
        assert self.release.wait(10)
        return super().embed(texts)


def test_two_ingests_in_one_process_are_serialised_and_keep_both_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        Path(name).mkdir()
        Path(name, f"{name}.md").write_text(f"# {name}\n\nText of {name}.\n")
    index_dir = Path("index")
    slow = BlockingEmbedder()
    first = threading.Thread(target=ingest_paths, args=([Path("a")], IndexConfig(index_dir), slow))
    first.start()
    assert slow.entered.wait(10)  # the first ingest holds the lock, mid-embedding
    with pytest.raises(IndexBusyError):
        ingest_paths(
            [Path("b")],
            IndexConfig(index_dir),
            HashingEmbedder(64),
            lock_wait_s=0,
        )
    asking, acquired = threading.Event(), threading.Event()

    @contextmanager
    def observed_lock(folder: Path, wait_s: float) -> Iterator[None]:
        asking.set()
        with index_lock(folder, wait_s):
            acquired.set()
            yield

    monkeypatch.setattr(builder, "index_lock", observed_lock)  # the second ingest's lock
    second = threading.Thread(
        target=ingest_paths, args=([Path("b")], IndexConfig(index_dir), HashingEmbedder(64))
    )
    second.start()
    assert asking.wait(10)
    # waiting for the lock, not building on the old generation
    assert not acquired.wait(0.5), "the second ingest took the lock the first one holds"
    slow.release.set()
    assert acquired.wait(10), "the second ingest did not get the lock once it was released"
    first.join(10)
    second.join(10)
    assert set(load_index(index_dir).files) == {"a/a.md", "b/b.md"}
