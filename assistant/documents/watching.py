"""Folders kept in sync with the index: `kb watch`, and the page with `KB_WEB__WATCH=true`.

watchfiles reports changes in batches (it waits for a quiet moment, at most `debounce_ms`).
A batch starts one normal incremental ingest of the watched paths, which adds new files,
re-reads changed ones and drops removed ones, under the index's writer lock like any ingest.
A file still being written is not read half-way: before the ingest, every changed file must
keep its size and modification time for `settle_s`; one that is still growing delays the
batch, up to `max_settle_s`: a file still growing then is read as it is, and read again at
its next change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index.builder import IngestReport

log = logging.getLogger(__name__)

Sync = Callable[[], IngestReport]


@dataclass(frozen=True)
class WatchTiming:
    """How long a batch may gather, and how long a file must stay still before it is read."""

    debounce_ms: int = 1600
    settle_s: float = 1.0
    max_settle_s: float = 60.0


def _signature(path: Path) -> tuple[int, int] | None:
    """(size, modification time) of a file, None when it is not there (removed)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def wait_until_settled(paths: Iterable[Path], timing: WatchTiming) -> list[Path]:
    """Wait until every file in `paths` stops changing for `settle_s`; returns those still
    changing after `max_settle_s`."""
    pending = {path: _signature(path) for path in paths}
    deadline = time.monotonic() + timing.max_settle_s
    while pending and time.monotonic() < deadline:
        time.sleep(timing.settle_s)
        now = {path: _signature(path) for path in pending}
        pending = {path: sig for path, sig in now.items() if sig != pending[path]}
    return sorted(pending)


# The first sync reads the folders before the watch is armed: a file written in between would
# wait for the next change. A second later (the watch then armed) kb syncs once more.
CATCH_UP_MS = 1000


def watch_and_sync(
    paths: list[Path],
    sync: Sync,
    on_report: Callable[[IngestReport], None],
    stop: threading.Event | None = None,
    timing: WatchTiming | None = None,
) -> None:
    """Sync once, then after every batch of changes under `paths` until `stop` is set."""
    import watchfiles

    timing = timing or WatchTiming()
    on_report(sync())
    caught_up = False
    for changes in watchfiles.watch(
        *paths,
        debounce=timing.debounce_ms,
        stop_event=stop,
        yield_on_timeout=True,
        rust_timeout=CATCH_UP_MS,
    ):
        if not changes:  # a quiet second: the watch is armed by now
            if not caught_up:  # what was written after the first sync read the folder
                caught_up = True
                _report_changes(sync(), on_report)
            continue
        changed = {Path(name) for _, name in changes}
        log.info("watch: %d changes", len(changed))
        unsettled = wait_until_settled(changed, timing)
        if unsettled:
            log.warning("watch: still being written, read as it is now: %s", unsettled)
        on_report(sync())


def _report_changes(report: IngestReport, on_report: Callable[[IngestReport], None]) -> None:
    if report.changed:
        on_report(report)


class BackgroundSync:
    """`watch_and_sync` on a daemon thread, remembering when the last sync ran."""

    def __init__(self, paths: list[Path], sync: Sync, timing: WatchTiming | None = None):
        self.paths = paths
        self.last: tuple[float, IngestReport] | None = None
        self._sync, self._timing = sync, timing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-watch", daemon=True)

    def start(self) -> BackgroundSync:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            watch_and_sync(self.paths, self._sync, self._remember, self._stop, self._timing)
        except Exception:  # the page goes on without sync; the log says why
            log.exception("watch: stopped")

    def _remember(self, report: IngestReport) -> None:
        self.last = (time.time(), report)
        log.info("watch: %s", report.summary())
