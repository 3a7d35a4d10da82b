"""Folders kept in sync (assistant/watching.py) with real watchfiles over real files: adds,
changes and removals reach the index in batches; a file still being written is read whole;
`kb watch` in a child process; the page's status line says when it last synced."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.documents.watching import BackgroundSync, WatchTiming, watch_and_sync
from assistant.frontends.web import events
from index.builder import IngestReport
from index.retriever import HybridRetriever
from tests.conftest import ROOT
from tests.support.fakes import FAKE_SETTINGS
from tests.unit.assistant.conftest import make_page_parts

FAST = WatchTiming(debounce_ms=200, settle_s=0.3, max_settle_s=10)


def _eventually(check: Callable[[], bool], within_s: float = 20) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "the index did not follow the folder in time"
        time.sleep(0.1)


@pytest.fixture
def watched(retriever: HybridRetriever, tmp_path: Path) -> Iterator[events.PageParts]:
    parts = make_page_parts(retriever, tmp_path / "uploads")
    folder = tmp_path / "docs"
    sync = BackgroundSync([folder], lambda: parts.session.library.sync([folder]), FAST).start()
    _eventually(lambda: sync.last is not None)  # the first sync ran
    yield events.PageParts(parts.session, sync=sync)
    sync.stop()


def _paths(parts: events.PageParts) -> list[str]:
    return [row.path for row in parts.session.library.rows()]


def test_adds_changes_and_removals_reach_the_index(
    watched: events.PageParts, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "leave.md").write_text("# Leave\n\nThirty days of leave.\n")
    _eventually(lambda: "docs/leave.md" in _paths(watched))
    (docs / "leave.md").write_text("# Leave\n\nForty days of zorblax leave.\n")
    _eventually(
        lambda: (
            "zorblax"
            in watched.session.assistant.retriever.retrieve("zorblax leave", 1)[0].chunk.text
        )
    )
    (docs / "privacy.md").unlink()
    _eventually(lambda: "docs/privacy.md" not in _paths(watched))
    assert "folders synced" in events.status_line(watched, "fake")


def test_a_file_still_being_written_is_read_whole(
    watched: events.PageParts, tmp_path: Path
) -> None:
    path = tmp_path / "docs" / "growing.md"

    def write_slowly() -> None:
        with open(path, "w") as handle:
            handle.write("# Growing\n\n")
            for n in range(12):
                handle.write(f"Line {n} of the growing file. ")
                handle.flush()
                time.sleep(0.1)  # pauses shorter than settle_s: one file being written
            handle.write("The zorblax ending.\n")

    writer = threading.Thread(target=write_slowly)
    writer.start()
    _eventually(lambda: "docs/growing.md" in _paths(watched))
    writer.join()
    text = " ".join(c.text for c in watched.session.assistant.retriever.state.chunks.values())
    assert "zorblax ending" in text  # never a half-read file in the index


def test_a_file_written_before_the_watch_is_armed_is_synced(tmp_path: Path) -> None:
    """The first sync reads the folder, then the watch is armed: a file written in between
    raises no event, so kb syncs once more when the watch has been quiet a second."""
    folder = tmp_path / "notes"
    folder.mkdir()
    seen: list[list[str]] = []
    stop = threading.Event()

    def sync() -> IngestReport:
        seen.append(sorted(p.name for p in folder.iterdir()))
        if len(seen) == 1:  # after the first sync read the folder, before the watch is armed
            (folder / "late.md").write_text("# Late\n")
        if len(seen) == 2:
            stop.set()
        return IngestReport(added=seen[-1])

    watcher = threading.Thread(target=watch_and_sync, args=([folder], sync, print, stop, FAST))
    watcher.start()
    watcher.join(timeout=15)
    stop.set()
    watcher.join(timeout=10)
    assert seen[0] == [] and len(seen) >= 2 and "late.md" in seen[1]


def test_kb_watch_follows_a_folder_until_interrupted(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    env = {**os.environ, **FAKE_SETTINGS, "PYTHONPATH": str(ROOT)}
    kb = [sys.executable, "-m", "tests.support.fake_kb"]
    watcher = subprocess.Popen(
        [*kb, "watch", "notes"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:

        def listed() -> list[str]:
            done = subprocess.run(
                [*kb, "docs", "list", "--json"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
            )
            return [row["path"] for row in json.loads(done.stdout)] if done.returncode == 0 else []

        # Written at once: before, during or after the first sync, the index must follow.
        (folder / "a.md").write_text("# A\n\nAlpha.\n")
        _eventually(lambda: listed() == ["notes/a.md"], within_s=60)
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=30)
    assert "watching" in err and str(folder) in err and "1 added" in err
    assert watcher.returncode == 130  # interrupted, said so
