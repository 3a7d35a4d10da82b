"""`ConversationStore`: conversations and their turns in one SQLite file.

Every read and write names the owner (a login user, a browser's id, a Slack thread's key):
a conversation of another owner reads as not found, exactly like one that does not exist.
One connection behind a lock serves every thread of the process; WAL mode lets the page and
the Slack bot (two processes) share the file.
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
from assistant.answering.models import Answer, AnswerJson
from assistant.backends.llms.base import Message
from assistant.conversations.schema import migrate
from assistant.errors import KbError

TITLE_CHARS = 80  # a new conversation's title: its first question, cut here


class ConversationNotFoundError(KbError):
    """No conversation with that id belongs to that owner."""


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the list of an owner's conversations."""

    id: str
    title: str
    backend: str
    collections: tuple[str, ...]
    created: float
    updated: float
    following: bool = True  # Slack: kb answers the thread's follow-ups without a mention


@dataclass(frozen=True)
class AskedQuestion:
    """A question someone asked, and the conversation it is in (the App Home's list)."""

    conversation_id: str
    question: str
    asked: float


@dataclass(frozen=True)
class SavedTurn:
    """A question and its answer, as `answer_record` saved it."""

    question: str
    answer: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.answer.get("answer", ""))


@dataclass(frozen=True)
class SavedConversation:
    """A conversation with its turns in order."""

    summary: ConversationSummary
    turns: tuple[SavedTurn, ...]

    @property
    def history(self) -> list[Message]:
        """The turns as the chat history that follow-ups are condensed against."""
        messages: list[Message] = []
        for turn in self.turns:
            messages += [
                {"role": "user", "content": turn.question},
                {"role": "assistant", "content": turn.text},
            ]
        return messages


def answer_record(answer: Answer) -> dict[str, Any]:
    """What is saved of an answer: `Answer.as_dict()`, plus what the JSON leaves out and the
    page needs to show it again (each passage's text and span; whether the text is the evidence)."""
    record: AnswerJson = answer.as_dict()
    return {
        **record,
        "passage_spans": [
            {"text": h.chunk.text, "start": h.chunk.start, "end": h.chunk.end}
            for h in answer.passages
        ],
        "evidence_in_text": answer.evidence_in_text,
    }


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


class ConversationStore:
    """Create, list, read, rename, delete conversations; append turns. Thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._db = localdb.connect(path, "KB_WEB__CONVERSATIONS_DB")
        self._lock = threading.Lock()
        self.opened_at_version = migrate(self._db, str(path))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return localdb.transaction(self._db, self._lock)

    def create(
        self,
        owner: str,
        question: str,
        backend: str,
        collections: Sequence[str] = (),
        conversation_id: str | None = None,
    ) -> str:
        """A new, empty conversation titled after its first question; returns its id."""
        new_id = conversation_id or uuid.uuid4().hex
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO conversations (id, owner, title, backend, collections, created,"
                " updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (new_id, owner, _title(question), backend, json.dumps(list(collections)), now, now),
            )
        return new_id

    def append(
        self, owner: str, conversation_id: str, answer: Answer, asked_by: str | None = None
    ) -> None:
        """Save one finished turn at the end of the conversation; `asked_by` names who asked
        when several people share the conversation (a Slack thread)."""
        now = time.time()
        with self._transaction() as db:
            self._check_owner(db, owner, conversation_id)
            position = db.execute(
                "SELECT COUNT(*) FROM turns WHERE conversation = ?", (conversation_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns (conversation, position, question, answer, created, asked_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    position,
                    answer.question,
                    json.dumps(answer_record(answer)),
                    now,
                    asked_by,
                ),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def set_scope(
        self, owner: str, conversation_id: str, backend: str, collections: Sequence[str]
    ) -> None:
        """The backend and collections the conversation uses from now on."""
        with self._transaction() as db:
            self._check_owner(db, owner, conversation_id)
            db.execute(
                "UPDATE conversations SET backend = ?, collections = ? WHERE id = ?",
                (backend, json.dumps(list(collections)), conversation_id),
            )

    def set_following(self, owner: str, conversation_id: str, following: bool) -> None:
        """Whether kb answers the conversation's follow-ups without a mention (Slack threads)."""
        with self._transaction() as db:
            self._check_owner(db, owner, conversation_id)
            db.execute(
                "UPDATE conversations SET following = ? WHERE id = ?",
                (int(following), conversation_id),
            )

    def questions_asked_by(self, asked_by: str, limit: int = 5) -> list[AskedQuestion]:
        """The latest questions `asked_by` asked, newest first, across conversations."""
        with self._lock:
            rows = self._db.execute(
                "SELECT conversation, question, created FROM turns WHERE asked_by = ?"
                " ORDER BY created DESC LIMIT ?",
                (asked_by, limit),
            ).fetchall()
        return [AskedQuestion(*row) for row in rows]

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        """A new title (blank titles are refused)."""
        if not title.strip():
            raise KbError("a conversation's title cannot be empty: type a name")
        with self._transaction() as db:
            self._check_owner(db, owner, conversation_id)
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (" ".join(title.split()), conversation_id),
            )

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete the conversation and its turns."""
        with self._transaction() as db:
            self._check_owner(db, owner, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def list_owned(self, owner: str) -> list[ConversationSummary]:
        """The owner's conversations, the most recently updated first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SUMMARY} FROM conversations WHERE owner = ?"
                " ORDER BY updated DESC, created DESC",
                (owner,),
            ).fetchall()
        return [_summary(row) for row in rows]

    def get(self, owner: str, conversation_id: str) -> SavedConversation:
        """The conversation with its turns; another owner's reads as not found."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SUMMARY} FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, owner),
            ).fetchone()
            if row is None:
                raise _not_found(conversation_id)
            turns = self._db.execute(
                "SELECT question, answer FROM turns WHERE conversation = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
        saved = tuple(SavedTurn(question, json.loads(answer)) for question, answer in turns)
        return SavedConversation(_summary(row), saved)

    def exists(self, owner: str, conversation_id: str) -> bool:
        """True when the owner has a conversation with this id."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            ).fetchone()
        return row is not None

    def find(self, owner: str, conversation_id: str) -> SavedConversation | None:
        """`get`, or None when there is no such conversation of this owner."""
        try:
            return self.get(owner, conversation_id)
        except ConversationNotFoundError:
            return None

    @staticmethod
    def _check_owner(db: sqlite3.Connection, owner: str, conversation_id: str) -> None:
        found = db.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
        ).fetchone()
        if found is None:
            raise _not_found(conversation_id)


_SUMMARY = "id, title, backend, collections, created, updated, following"


def _summary(row: tuple[Any, ...]) -> ConversationSummary:
    conversation_id, title, backend, collections, created, updated, following = row
    return ConversationSummary(
        conversation_id,
        title,
        backend,
        tuple(json.loads(collections)),
        created,
        updated,
        bool(following),
    )


def _not_found(conversation_id: str) -> ConversationNotFoundError:
    return ConversationNotFoundError(
        f"no saved conversation {conversation_id!r} for you: it was deleted, or it is "
        "someone else's; start a new chat"
    )
