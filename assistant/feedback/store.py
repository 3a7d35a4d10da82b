"""`FeedbackStore`: rateable answers and their ratings in one SQLite file.

An answer is kept when it is shown with its buttons (its id is the buttons' value), so a click
only has to name the id; one rating per person and answer, a second click replacing the first.
One connection behind a lock serves every thread; WAL mode lets the page and the Slack bot
(two processes) share the file. The schema is versioned with `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant import localdb
from assistant.answering.models import Answer
from assistant.backends.llms.base import Message
from assistant.errors import KbError

RATINGS = ("up", "down")

V1 = (
    """CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        source TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        backend TEXT NOT NULL,
        model TEXT NOT NULL,
        refused INTEGER NOT NULL,
        record TEXT NOT NULL,
        history TEXT NOT NULL
    )""",
    """CREATE TABLE ratings (
        answer TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        user TEXT NOT NULL,
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        created REAL NOT NULL,
        PRIMARY KEY (answer, user)
    )""",
)
MIGRATIONS: tuple[tuple[str, ...], ...] = (V1,)  # a new schema is a new step at the end
SETTING = "KB_FEEDBACK__DB"


@dataclass(frozen=True)
class RatedPassage:
    """A passage the rated answer was made from."""

    n: int
    source: str
    title: str | None
    location: str | None
    text: str


@dataclass(frozen=True)
class RatedAnswer:
    """An answer with its ratings: what `kb feedback export` turns into an eval row."""

    id: str
    source: str  # "web", "slack" or "slack-command"
    question: str
    answer: str
    backend: str
    model: str
    refused: bool
    record: dict[str, Any]  # `Answer.as_dict()` (citations, timings...), passages with text
    history: tuple[Message, ...]
    ups: int
    downs: int
    last_rated: float

    @property
    def passages(self) -> tuple[RatedPassage, ...]:
        """The passages given to the model, in order, with their text."""
        return tuple(
            RatedPassage(p["n"], p["source"], p.get("title"), p.get("location"), p.get("text", ""))
            for p in self.record.get("passages", [])
        )


class FeedbackStore:
    """Keep answers, rate them, list the rated ones. Thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._db = localdb.connect(path, SETTING)
        localdb.migrate(self._db, MIGRATIONS, str(path), SETTING)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return localdb.transaction(self._db, self._lock)

    def record_answer(self, answer: Answer, *, source: str, history: Sequence[Message] = ()) -> str:
        """Keep an answer that can be rated; returns its id (32 hex characters)."""
        answer_id = uuid.uuid4().hex
        row = (
            answer_id,
            time.time(),
            source,
            answer.question,
            answer.text,
            answer.backend,
            answer.model,
            int(answer.refused),
            json.dumps(_record(answer), ensure_ascii=False),
            json.dumps(list(history), ensure_ascii=False),
        )
        with self._transaction() as db:
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        return answer_id

    def rate(self, answer_id: str, rating: str, user: str) -> None:
        """`user` rates the answer "up" or "down"; a second rating replaces the first."""
        if rating not in RATINGS:
            raise KbError(f"a rating is 'up' or 'down', not {rating!r}")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise KbError(
                    f"no answer {answer_id!r} to rate in {self.path}: it was deleted, or the "
                    "buttons belong to another kb"
                )
            db.execute(
                "INSERT INTO ratings VALUES (?, ?, ?, ?) ON CONFLICT (answer, user)"
                " DO UPDATE SET rating = excluded.rating, created = excluded.created",
                (answer_id, user, rating, time.time()),
            )

    def unrate(self, answer_id: str, user: str) -> None:
        """Take back `user`'s rating of the answer (the page's thumb clicked off again)."""
        with self._transaction() as db:
            db.execute("DELETE FROM ratings WHERE answer = ? AND user = ?", (answer_id, user))

    def rated(self, rating: str | None = None) -> list[RatedAnswer]:
        """Answers with at least one rating (of `rating`, when given), last rated first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id, a.source, a.question, a.answer, a.backend, a.model, a.refused,"
                " a.record, a.history, SUM(r.rating = 'up'), SUM(r.rating = 'down'),"
                " MAX(r.created) FROM answers a JOIN ratings r ON r.answer = a.id"
                " GROUP BY a.id ORDER BY MAX(r.created) DESC"
            ).fetchall()
        answers = [_rated(row) for row in rows]
        if rating is None:
            return answers
        return [a for a in answers if (a.ups if rating == "up" else a.downs) > 0]


def _record(answer: Answer) -> dict[str, Any]:
    """`Answer.as_dict()` with each passage's text: what a person reviewing a 👎 needs."""
    record: dict[str, Any] = dict(answer.as_dict())
    for passage, hit in zip(record["passages"], answer.passages, strict=True):
        passage["text"] = hit.chunk.text
    return record


def _rated(row: tuple[Any, ...]) -> RatedAnswer:
    answer_id, source, question, answer, backend, model, refused, record, history, *rest = row
    ups, downs, last = rest
    return RatedAnswer(
        answer_id,
        source,
        question,
        answer,
        backend,
        model,
        bool(refused),
        json.loads(record),
        tuple(json.loads(history)),
        int(ups or 0),
        int(downs or 0),
        float(last),
    )
