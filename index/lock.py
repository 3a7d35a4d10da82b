"""One writer at a time per index folder: an advisory `flock` on `<index_dir>/.lock`.

An ingest holds the lock for its whole run, from loading the current generation to switching in
the new one: two writers that both built on the same old generation would each save a complete
index, and the second would silently drop the first one's changes. Readers never take it:
generations are immutable and switched in atomically (`index.storage`).

A `flock` belongs to an open file description, so every holder opens the file itself: a second
thread of the same process waits exactly like another process. The kernel drops the lock when
its holder dies (kill -9 included), so there is never a stale lock to clear. The file itself
stays: deleting it would let a waiter and a newcomer lock two different files. It holds the
holder's pid, for the message a refused writer gets; that is all it is used for.

POSIX only (`fcntl`); on a network file system `flock` may not lock across machines.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import IndexBusyError

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
DEFAULT_WAIT_S = 60.0  # long enough for a small ingest to finish, short enough to notice


@contextmanager
def index_lock(index_dir: Path, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the index folder's writer lock, waiting up to `wait_s` seconds for another holder.

    Raises `IndexBusyError` (naming the holder's pid) when it is still held after that.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, index_dir, wait_s)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, index_dir: Path, wait_s: float) -> None:
    deadline = time.monotonic() + max(wait_s, 0.0)
    pause = 0.01
    warned = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise IndexBusyError(
                f"another ingest is running on {index_dir} (pid {_holder(fd)}); "
                "try again when it finishes"
            )
        if not warned and wait_s > 0:
            log.warning(
                "another ingest is running on %s (pid %s); waiting up to %.0f s",
                index_dir,
                _holder(fd),
                wait_s,
            )
            warned = True
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
        pause = min(pause * 2, 0.25)


def _holder(fd: int) -> str:
    """The pid the holder wrote, or `unknown` in the instant between its lock and its write."""
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return text or "unknown"
