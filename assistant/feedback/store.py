"""`FeedbackStore`: answers that can be rated, and the ratings people gave them, in one SQLite
file.

An answer is recorded before anyone rates it (Slack's buttons carry its id), so the file holds
what was asked even when nobody clicks; `rated` lists only the answers with a rating. One
rating per (answer, user): a second click replaces the first, so a change of mind is not
counted twice. One connection behind a lock serves every thread of the process; WAL mode lets
the page and the Slack bot (two processes) share the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answering.models import Answer
from assistant.backends.llms.base import Message
from assistant.errors import KbError
from assistant.feedback.schema import migrate

RATINGS = ("up", "down")
SOURCES = ("web", "slack", "slack-command")


@dataclass(frozen=True)
class RatedPassage:
    """A passage kb gave the model for the answer; `cited` when the answer cites it."""

    n: int
    source: str
    title: str | None
    location: str | None
    text: str
    cited: bool


@dataclass(frozen=True)
class RatedAnswer:
    """An answer with its ratings: how many people gave 👍 and 👎, and when the last one did."""

    id: str
    source: str
    question: str
    answer: str
    passages: tuple[RatedPassage, ...]
    backend: str
    model: str
    refused: bool
    history: tuple[Message, ...]
    created: float
    ups: int
    downs: int
    last_rated: float


def _passages(answer: Answer) -> list[dict[str, Any]]:
    """Every passage given to the model, with its text: what a person needs to judge the answer
    and to pick gold snippets from."""
    cited = {c.n for c in answer.citations}
    return [
        {
            "n": n,
            "source": hit.chunk.source,
            "title": hit.chunk.title,
            "location": hit.chunk.location,
            "text": hit.chunk.text,
            "cited": n in cited,
        }
        for n, hit in enumerate(answer.passages, start=1)
    ]


class FeedbackStore:
    """Record answers, rate them, list the rated ones. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA journal_mode = WAL")
        except (OSError, sqlite3.Error) as exc:
            raise KbError(
                f"cannot open the feedback file {path}: {exc}; set KB_FEEDBACK__DB to a "
                "writable file"
            ) from exc
        self._lock = threading.Lock()
        self._db.execute("PRAGMA foreign_keys = ON")
        self.opened_at_version = migrate(self._db, str(path))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record_answer(self, answer: Answer, *, source: str, history: Sequence[Message] = ()) -> str:
        """Keep an answer that can be rated; returns its id (32 hex characters, short enough
        for a Slack button's value)."""
        if source not in SOURCES:
            raise KbError(f"feedback source {source!r}: use one of {', '.join(SOURCES)}")
        answer_id = uuid.uuid4().hex
        row = (
            answer_id,
            source,
            answer.question,
            answer.text,
            json.dumps(_passages(answer)),
            answer.backend,
            answer.model,
            int(answer.refused),
            json.dumps([dict(m) for m in history]),
            time.time(),
        )
        with self._transaction() as db:
            db.execute(f"INSERT INTO answers ({_ANSWER}) VALUES ({', '.join('?' * 10)})", row)
        return answer_id

    def rate(self, answer_id: str, rating: str, user: str) -> None:
        """Keep `user`'s 👍 ("up") or 👎 ("down") of the answer; it replaces their earlier one."""
        if rating not in RATINGS:
            raise KbError(f"rating {rating!r}: use 'up' or 'down'")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise KbError(
                    f"no answer {answer_id!r} in {self.path}: it was never recorded there, or "
                    "the file was deleted since; ask the question again to rate its answer"
                )
            db.execute(
                "INSERT INTO ratings (answer, user, rating, rated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer, user) DO UPDATE SET rating = excluded.rating,"
                " rated = excluded.rated",
                (answer_id, user, rating, time.time()),
            )

    def unrate(self, answer_id: str, user: str) -> None:
        """Take back `user`'s rating of the answer (the page's thumb clicked off again)."""
        with self._transaction() as db:
            db.execute("DELETE FROM ratings WHERE answer = ? AND user = ?", (answer_id, user))

    def rated(self, rating: str | None = None) -> list[RatedAnswer]:
        """The answers someone rated (`rating`: only those with at least one of that rating),
        the most recently rated first."""
        if rating is not None and rating not in RATINGS:
            raise KbError(f"rating {rating!r}: use 'up', 'down' or None")
        having = "" if rating is None else f"HAVING SUM(r.rating = '{rating}') > 0"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join('a.' + c for c in _ANSWER.split(', '))},"
                " SUM(r.rating = 'up'), SUM(r.rating = 'down'), MAX(r.rated)"
                f" FROM answers a JOIN ratings r ON r.answer = a.id GROUP BY a.id {having}"
                " ORDER BY MAX(r.rated) DESC, a.created DESC"
            ).fetchall()
        return [_rated(row) for row in rows]


_ANSWER = "id, source, question, answer, passages, backend, model, refused, history, created"


def _rated(row: tuple[Any, ...]) -> RatedAnswer:
    (answer_id, source, question, text, passages, backend, model, refused, history, created) = row[
        :10
    ]
    ups, downs, last = row[10:]
    return RatedAnswer(
        answer_id,
        source,
        question,
        text,
        tuple(RatedPassage(**p) for p in json.loads(passages)),
        backend,
        model,
        bool(refused),
        tuple(json.loads(history)),
        created,
        int(ups),
        int(downs),
        float(last),
    )
