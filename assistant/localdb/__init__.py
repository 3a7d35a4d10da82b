"""kb's own small SQLite files (saved conversations, feedback): opening one the same way,
transactions, and schema versions with `PRAGMA user_version`.

A file's schema is a list of migration steps: step `i` takes it from version `i` to `i + 1`.
Opening a file runs the steps it lacks, all in one transaction, so a crash half way leaves the
file at its old version, whole; a file from a newer kb is refused. A released step is never
edited: a change of schema is a new step at the end.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import KbError

Migrations = Sequence[Sequence[str]]


class SchemaTooNewError(KbError):
    """The file was written by a newer kb than this one."""


def connect(path: Path, setting: str) -> sqlite3.Connection:
    """One connection any thread may use (behind the caller's lock), in autocommit mode so the
    transactions are the caller's, with WAL (two processes can share the file) and foreign
    keys on. `setting` names the variable that points elsewhere, for the error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
    except (OSError, sqlite3.Error) as exc:
        raise KbError(f"cannot open {path}: {exc}; set {setting} to a writable file") from exc
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` on any error, holding `lock`."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def migrate(db: sqlite3.Connection, migrations: Migrations, where: str, setting: str) -> int:
    """Bring the file up to `len(migrations)` in one transaction; returns the version it had."""
    version = len(migrations)
    db.execute("BEGIN IMMEDIATE")  # a second process opening the file waits here
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > version:
            raise SchemaTooNewError(
                f"{where} has schema version {found}, newer than this kb's {version}: "
                f"upgrade kb, or point {setting} at another file"
            )
        for step in migrations[found:]:
            for statement in step:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(found)
