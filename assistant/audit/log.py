"""The audit log on disk: append-only JSON Lines in one folder, hash-chained across files.

`audit.jsonl` takes new records; past `max_bytes` it is renamed `audit.000001.jsonl`,
`audit.000002.jsonl`, ... (oldest first) and a new one starts, whose first record's `prev` is
the last hash of the one before. Writers in several threads and several processes (the page
server, `kb slack`, `kb ask`) take turns under an exclusive `flock` on `audit.lock`; each
record is one `write` of one line, flushed and fsynced. A crash mid-write leaves a torn last
line: the next append starts on a new line, so the torn bytes stay one broken line that
`verify` reports. What a record holds is `assistant.audit.records`; the chain itself is
`assistant.audit.chain`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import IO, Any

from assistant.audit.chain import GENESIS, AuditCheck, Place, check_chain, parse_line, record_hash
from assistant.audit.redaction import QuestionMode, private_copy
from assistant.log_redaction import secret_values
from assistant.settings import AuditSettings
from index.storage import fsync_dir

CURRENT = "audit.jsonl"
LOCK = "audit.lock"
_ROTATED = re.compile(r"^audit\.(\d{6,})\.jsonl$")
_TAIL_BLOCK = 1 << 16  # bytes read from a file's end at a time, looking for its last record
FILE_MODE = 0o600  # the log holds questions: for this user only


def new_id(now: datetime) -> str:
    """A short id that sorts by time: `20261207T014500Z-3f9a1c0b`."""
    return f"{now:%Y%m%dT%H%M%SZ}-{token_hex(4)}"


def _tail(path: Path) -> tuple[dict[str, Any] | None, bool]:
    """The last record in `path` (read from its end, not whole) and whether the file ends
    with a newline (False: a torn last line, or no file)."""
    if not path.is_file():  # writers hold the lock: no file comes or goes meanwhile
        return None, True
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        ends_clean = size == 0 or _byte_at(handle, size - 1) == b"\n"
        start, block = size, _TAIL_BLOCK
        while start > 0:
            start = max(0, size - block)
            handle.seek(start)
            lines = handle.read(size - start).split(b"\n")
            whole = lines if start == 0 else lines[1:]  # the first may start mid-line
            for raw in reversed(whole):
                record = parse_line(raw)
                if record is not None:
                    return record, ends_clean
            block *= 2
    return None, ends_clean


def _byte_at(handle: IO[bytes], offset: int) -> bytes:
    handle.seek(offset)
    return handle.read(1)


class AuditLog:
    """The log in `folder`: `append` a record; read, find and verify them."""

    def __init__(
        self,
        folder: Path,
        questions: QuestionMode = "text",
        max_bytes: int = 10 * 2**20,
        secrets: Sequence[str] | None = None,
    ):
        self.folder = folder
        self.questions: QuestionMode = questions
        self.max_bytes = max_bytes
        self._secrets = secrets  # None: the environment's and `.env`'s, read at each append
        self._lock = threading.Lock()  # flock is per open file: threads need their own turn

    @property
    def current(self) -> Path:
        """The file new records go to."""
        return self.folder / CURRENT

    def files(self) -> list[Path]:
        """The log's files, oldest first: the rotated ones by number, then `audit.jsonl`."""
        if not self.folder.is_dir():
            return []
        rotated = [
            (int(match.group(1)), path)
            for path in self.folder.iterdir()
            if (match := _ROTATED.match(path.name))
        ]
        ordered = [path for _, path in sorted(rotated)]
        return [*ordered, self.current] if self.current.is_file() else ordered

    def append(self, record: dict[str, Any]) -> str:
        """Add one record (cleaned of secrets; with `questions="hash"`, no question text),
        chained to the one before; returns its id."""
        known = self._secrets if self._secrets is not None else secret_values()
        body = private_copy(record, self.questions, known)
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, self._locked(fcntl.LOCK_EX):
            return self._append_locked(body)

    @contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, how)
            yield
        finally:
            os.close(fd)  # closing lets go of the lock

    def _append_locked(self, body: dict[str, Any]) -> str:
        last, ends_clean = _tail(self.current)
        if not ends_clean:  # never write onto a torn line: it stays one broken line
            self._write(b"\n")
        if self.current.is_file() and self.current.stat().st_size >= self.max_bytes:
            self._rotate()
        prev = self._last_hash(last)
        now = datetime.now(UTC)
        body.update(id=new_id(now), time=now.isoformat(timespec="milliseconds"), prev=prev)
        body.pop("hash", None)
        body["hash"] = record_hash(body)
        line = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._write((line + "\n").encode("utf-8"))
        return str(body["id"])

    def _last_hash(self, current_last: dict[str, Any] | None) -> str:
        """The hash the next record chains to: the current file's last record, else the last
        one of the newest rotated file that holds one, else `GENESIS`."""
        if current_last is not None and self.current.is_file():
            return str(current_last["hash"])
        for path in reversed(self.files()):
            record, _ = _tail(path)
            if record is not None:
                return str(record["hash"])
        return GENESIS

    def _write(self, data: bytes) -> None:
        """One write of `data` at the end of the current file, then flush and fsync."""
        created = not self.current.exists()
        fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.folder)

    def _rotate(self) -> None:
        """Rename the full current file to the next number; the next append starts a new one."""
        numbers = [int(m.group(1)) for p in self.files() if (m := _ROTATED.match(p.name))]
        target = self.folder / f"audit.{max(numbers, default=0) + 1:06d}.jsonl"
        os.rename(self.current, target)
        fsync_dir(self.folder)

    def records(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every record, oldest first, across files; torn lines skipped; with `since`, only
        records from then on (a time without a zone is UTC)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        for _, raw in self._lines():
            record = parse_line(raw)
            if record is not None and (since is None or _time_of(record) >= since):
                yield record

    def find(self, record_id: str) -> dict[str, Any] | None:
        """The record with this id, or None."""
        return next((r for r in self.records() if r.get("id") == record_id), None)

    def verify(self, anchor: str | None = None) -> AuditCheck:
        """Check the whole chain, oldest file first; with `anchor` (a hash kept elsewhere), also
        that its record is still there."""
        with ExitStack() as stack:
            handles = self._snapshot(stack)
            check = check_chain(_numbered_lines(handles), anchor)
            check.files = len(handles)
        return check

    def _lines(self) -> Iterator[tuple[Place, bytes]]:
        with ExitStack() as stack:
            yield from _numbered_lines(self._snapshot(stack))

    def _snapshot(self, stack: ExitStack) -> list[tuple[Path, IO[bytes], int]]:
        """Every file opened, with the size to read, under a shared lock so that no rotation is
        half done; what is appended after is not read (an open file survives its renaming)."""
        if not self.folder.is_dir():
            return []
        with self._locked(fcntl.LOCK_SH):
            handles: list[tuple[Path, IO[bytes], int]] = []
            for path in self.files():
                handle = stack.enter_context(path.open("rb"))
                handles.append((path, handle, os.fstat(handle.fileno()).st_size))
        return handles


def _numbered_lines(handles: list[tuple[Path, IO[bytes], int]]) -> Iterator[tuple[Place, bytes]]:
    """Each line (without its newline) of each file up to its size, with where it is."""
    for path, handle, size in handles:
        data = handle.read(size)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()  # the newline that ends the last line
        for number, raw in enumerate(lines, start=1):
            yield Place(path, number), raw


def _time_of(record: dict[str, Any]) -> datetime:
    """A record's time; a record without a readable one counts as the oldest."""
    try:
        return datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def open_audit_log(settings: AuditSettings) -> AuditLog:
    """The log the settings describe (whether or not `enabled`: reading works either way)."""
    return AuditLog(settings.dir, settings.questions, int(settings.max_mb * 2**20))
