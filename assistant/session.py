"""A running kb's shared parts, built once by `assistant.wiring.build_session` and used by
every front end that stays up (the page, its API, Slack): the model pool, the assistant, the
document library, and where conversations and ratings are saved.

A front end keeps only what is its own (a browser tab's conversation, a Slack thread) and asks
the session for the assistant of one question and to save what happened.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.access import Caller
from assistant.answering.models import Answer
from assistant.answering.pipeline import Assistant
from assistant.audit.fingerprint import profile_fingerprint
from assistant.audit.log import AuditLog
from assistant.audit.records import answer_record
from assistant.backends.llms.base import Message
from assistant.backends.pool import ChatModelPool
from assistant.conversations.store import ConversationStore
from assistant.documents.library import DocumentLibrary
from assistant.errors import KbError
from assistant.feedback.store import FeedbackStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scope:
    """What a conversation answers with: a backend (a profile or `auto`), the collections it
    searches (empty: all of them), and whether it may search local-only documents (not for an
    MCP client, which hands what it gets to a model kb does not control)."""

    backend: str
    collections: Sequence[str] = ()
    local_only: bool = True


@dataclass(frozen=True)
class Session:
    """The assistant, its backends and documents, and the stores; `None` stores save nothing."""

    assistant: Assistant
    pool: ChatModelPool
    library: DocumentLibrary
    conversations: ConversationStore | None = None
    feedback: FeedbackStore | None = None
    audit_log: AuditLog | None = None

    def answering(self, scope: Scope) -> Assistant:
        """The assistant for one question: on the index's current generation (another process
        may have switched it), searching the scope's collections with its backend."""
        self.library.follow_index()
        searching = self.assistant.scoped(scope.collections, scope.local_only)
        return searching.routed(self.pool.router(scope.backend))

    def audit(self, answer: Answer, caller: Caller, scope: Scope) -> None:
        """Record `answer` in the audit log, with who asked and what it searched; a log that
        fails is logged loudly (the answer was given all the same)."""
        log_ = self.audit_log
        if log_ is None:
            return
        try:
            record = answer_record(
                answer,
                caller,
                scope.collections,
                self.assistant.retriever.state.files,
                self.library.generation,
                profile_fingerprint(self.pool, answer.backend),
                log_.questions,
                requested=scope.backend,
            )
            log_.append(record)
        except (KbError, OSError) as exc:
            log.error("answer not recorded in the audit log %s: %s", log_.folder, exc)

    def remember(self, answer: Answer, source: str, history: Sequence[Message] = ()) -> str | None:
        """Keep an answer so that it can be rated; its id, or None without a feedback store or
        when the store fails (logged: the answer was given all the same)."""
        if self.feedback is None:
            return None
        try:
            return self.feedback.record_answer(answer, source=source, history=history)
        except (KbError, sqlite3.Error) as exc:
            log.warning("answer not kept for feedback in %s: %s", self.feedback.path, exc)
            return None

    def save(
        self,
        owner: str,
        saved_id: str | None,
        scope: Scope,
        title: str,
        answer: Answer | None = None,
        asked_by: str | None = None,
        new_id: str | None = None,
    ) -> str | None:
        """Save a conversation's scope and, when given, its new turn; the first save creates it
        (titled `title`, with id `new_id` when given). Returns its id, or what was known of it
        when the store fails (logged: the conversation goes on in memory)."""
        store = self.conversations
        if store is None:
            return saved_id
        try:
            if saved_id is None or not store.exists(owner, saved_id):
                saved_id = store.create(owner, title, scope.backend, scope.collections, new_id)
            else:
                store.set_scope(owner, saved_id, scope.backend, scope.collections)
            if answer is not None:
                store.append(owner, saved_id, answer, asked_by)
        except (KbError, sqlite3.Error) as exc:
            log.warning("could not save conversation %s in %s: %s", saved_id, store.path, exc)
        return saved_id
