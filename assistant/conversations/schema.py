"""The conversations database's schema, versioned with SQLite's `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Opening a file runs the steps it
lacks, all in one transaction: a crash half way leaves the file at its old version, whole. A
change of schema is a new step at the end; a step already released is never edited.
"""

from __future__ import annotations

import sqlite3

from assistant import localdb
from assistant.localdb import SchemaTooNewError

__all__ = ["MIGRATIONS", "VERSION", "SchemaTooNewError", "migrate"]

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


def migrate(connection: sqlite3.Connection, where: str) -> int:
    """Bring the database up to `VERSION` in one transaction; returns the version it had."""
    return localdb.migrate(connection, MIGRATIONS, where, "KB_WEB__CONVERSATIONS_DB")
