"""The conversations database's schema, versioned with SQLite's `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Opening a file runs the steps it
lacks, all in one transaction: a crash half way leaves the file at its old version, whole. A
change of schema is a new step at the end; a step already released is never edited.
"""

from __future__ import annotations

import sqlite3

from assistant.errors import KbError

V1 = (
    """CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        backend TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    "CREATE INDEX conversations_by_owner ON conversations (owner, updated)",
    """CREATE TABLE turns (
        conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (conversation, position)
    )""",
)
# Version 2: the collections a conversation searches (a JSON list; empty: all of them).
V2 = ("ALTER TABLE conversations ADD COLUMN collections TEXT NOT NULL DEFAULT '[]'",)

# Version 3, for Slack threads: whether kb answers follow-ups without a mention (`@kb stop`
# sets it to 0; a new mention to 1), and who asked each question (the App Home lists a user's
# own). Rows from before keep following and have no asker.
V3 = (
    "ALTER TABLE conversations ADD COLUMN following INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE turns ADD COLUMN asked_by TEXT",
    "CREATE INDEX turns_by_asker ON turns (asked_by, created)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (V1, V2, V3)
VERSION = len(MIGRATIONS)


class SchemaTooNewError(KbError):
    """The file was written by a newer kb than this one."""


def migrate(connection: sqlite3.Connection, where: str) -> int:
    """Bring the database up to `VERSION` in one transaction; returns the version it had.

    `connection` must be in autocommit mode (`isolation_level=None`) so the transaction here
    is the only one."""
    connection.execute("BEGIN IMMEDIATE")  # a second process opening the file waits here
    try:
        found = connection.execute("PRAGMA user_version").fetchone()[0]
        if found > VERSION:
            raise SchemaTooNewError(
                f"{where} has conversations schema version {found}, newer than this kb's "
                f"{VERSION}: upgrade kb, or point KB_WEB__CONVERSATIONS_DB at another file"
            )
        for step in MIGRATIONS[found:]:
            for statement in step:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return int(found)
