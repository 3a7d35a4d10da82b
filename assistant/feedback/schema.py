"""The feedback database's schema, versioned with SQLite's `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`, all steps in one transaction (a
crash half way leaves the file at its old version, whole). A change of schema is a new step at
the end; a step already released is never edited.
"""

from __future__ import annotations

import sqlite3

from assistant.errors import KbError

V1 = (
    """CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        passages TEXT NOT NULL,
        backend TEXT NOT NULL,
        model TEXT NOT NULL,
        refused INTEGER NOT NULL,
        history TEXT NOT NULL,
        created REAL NOT NULL
    )""",
    """CREATE TABLE ratings (
        answer TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        user TEXT NOT NULL,
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        rated REAL NOT NULL,
        PRIMARY KEY (answer, user)
    )""",
    "CREATE INDEX ratings_by_time ON ratings (rated)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (V1,)
VERSION = len(MIGRATIONS)


class FeedbackSchemaTooNewError(KbError):
    """The file was written by a newer kb than this one."""


def migrate(connection: sqlite3.Connection, where: str) -> int:
    """Bring the database up to `VERSION` in one transaction; returns the version it had.

    `connection` must be in autocommit mode (`isolation_level=None`) so the transaction here
    is the only one."""
    connection.execute("BEGIN IMMEDIATE")  # a second process opening the file waits here
    try:
        found = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if found > VERSION:
            raise FeedbackSchemaTooNewError(
                f"{where} has feedback schema version {found}, newer than this kb's {VERSION}: "
                "upgrade kb, or point KB_FEEDBACK__DB at another file"
            )
        for step in MIGRATIONS[found:]:
            for statement in step:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return found
