"""What the page's events do, apart from Gradio layout: answer a turn (streamed), switch a
conversation's backend, add uploaded files, open a document, answer the `/ask` API. Answers go
through the page's `BusyGate`: past its limit a question is answered "busy" at once.

Each browser tab holds its own `Conversation` (history, answers, backend); `PageParts` is what
all tabs share. Rendering is `render`'s job; layout and wiring are `page`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.access import AccessDeniedError, Caller, narrow
from assistant.answering.models import Answer, AnswerStream, Evidence
from assistant.backends.fallback import Restart
from assistant.backends.llms.base import Message
from assistant.backends.routing import AUTO, HOSTED_ALIAS
from assistant.documents.catalog import check_collection_name
from assistant.documents.library import FileProgress
from assistant.documents.watching import BackgroundSync
from assistant.errors import KbError
from assistant.frontends.web import render
from assistant.frontends.web.busy import BusyGate, busy_answer
from assistant.session import Scope, Session
from assistant.telemetry.metrics import observe_answer, observe_busy

log = logging.getLogger(__name__)

PAGE_USER = Caller("page", "loopback")  # the page without a login (on loopback): everything


@dataclass
class Conversation:
    """One browser tab's conversation: its backend, history and answers."""

    backend: str
    history: list[Message] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)  # searched; empty: all of them
    saved_id: str | None = None  # its id in the conversations store, once a turn is saved
    answer_at: dict[int, int] = field(default_factory=dict)  # chat message index -> answer
    rated_ids: dict[int, str] = field(default_factory=dict)  # answer -> its id in feedback
    thumbs: dict[int, str] = field(default_factory=dict)  # chat message index -> "Like"/"Dislike"


@dataclass(frozen=True)
class PageParts:
    """What the page serves: the session (answers, backends, documents, the stores: without a
    conversations store nothing is saved, without a feedback store no 👍 / 👎 are shown), how
    many questions it holds at once, and the folders it keeps in sync."""

    session: Session
    gate: BusyGate = field(default_factory=BusyGate)
    sync: BackgroundSync | None = None  # KB_WEB__WATCH: folders kept in sync
    logins: Mapping[str, frozenset[str] | None] = field(default_factory=dict)  # name -> grant

    def caller(self, request: gr.Request | None) -> Caller:
        """Who uses the page: its login, with what the login may see (a name the settings do
        not list sees nothing); without a login (loopback), this machine's user."""
        user = getattr(request, "username", None) if request is not None else None
        if not user:
            return PAGE_USER
        return Caller("page", user, self.logins.get(user, frozenset()))


def _device(model: object) -> str:
    """A local model says where its layers run ("GPU (25 of 25 layers)"); others run elsewhere."""
    return str(getattr(model, "offload", "CPU"))


def status_line(parts: PageParts, backend: str) -> str:
    """The line under the title: documents, chunks, model and where it runs."""
    stats = parts.session.library.stats()
    model = parts.session.pool.router(backend)("", []).chain[0]
    name = "routed per question" if backend == AUTO else model.model
    hosted = parts.session.pool.hosted_available()
    facts = render.StatusFacts(
        stats.documents, stats.chunks, name, _device(model), hosted, _last_sync(parts.sync)
    )
    return render.status_markdown(facts)


def _last_sync(sync: BackgroundSync | None) -> str | None:
    """When the folders were last synced, for the status line; None when not watching."""
    if sync is None:
        return None
    if sync.last is None:
        return "first folder sync running"
    when, report = sync.last
    changes = len(report.added) + len(report.updated) + len(report.removed)
    return f"folders synced {time.strftime('%H:%M:%S', time.localtime(when))} ({changes} changes)"


def answer_turn(
    parts: PageParts,
    message: str,
    chat: list[Any],
    convo: Conversation,
    owner: str | None = None,
    caller: Caller = PAGE_USER,
) -> Iterator[tuple[str, list[Any], Conversation, str]]:
    """Stream one answer into the chat; on failure keep the question in the box and say why.
    A finished turn is saved as `owner`'s (a login user or a browser) when the page saves."""
    message = message.strip()
    if not message:
        yield "", chat, convo, render.sources_html(convo.answers)
        return
    chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
    with parts.gate.admit() as admitted:
        if not admitted:
            observe_busy(convo.backend)
            busy = busy_answer(message, convo.backend).text
            chat[-1]["content"] = f"⏳ {busy}\n\nYour question is back in the box."
            yield message, chat, convo, render.sources_html(convo.answers)
            return
        yield from _stream_turn(parts, message, chat, convo, (owner, caller))


def _stream_turn(
    parts: PageParts,
    message: str,
    chat: list[Any],
    convo: Conversation,
    asker: tuple[str | None, Caller],
) -> Iterator[tuple[str, list[Any], Conversation, str]]:
    owner, caller = asker
    sources = render.sources_html(convo.answers)
    yield "", chat, convo, sources
    text = evidence = ""
    try:
        scope = Scope(convo.backend, narrow(caller, convo.collections))
        assistant = parts.session.answering(scope)
        stream = AnswerStream(assistant.stream(message, convo.history))
        for event in stream:
            if isinstance(event, Evidence):  # shown at once; the reply streams below it
                evidence = render.evidence_markdown(event)
                chat[-1]["content"] = evidence
                yield "", chat, convo, sources
            elif isinstance(event, Restart):  # the answer starts over on the next backend
                text = f"*⚠️ {event.note}…*\n\n"
                chat[-1]["content"] = evidence + text
                yield "", chat, convo, sources
            else:
                text += event
                chat[-1]["content"] = evidence + text
                yield "", chat, convo, sources
        answer = stream.answer()
        observe_answer(answer)
        parts.session.audit(answer, caller, scope)
        _remember(convo, answer)
        convo.answer_at[len(chat) - 1] = len(convo.answers) - 1  # so its 👍 / 👎 find it
        save_turn(parts, owner, convo, answer)
        line = caller.scope_line(scope.collections)
        chat[-1]["content"] = render.answer_markdown(answer, len(convo.answers) - 1, line)
        yield "", chat, convo, render.sources_html(convo.answers)
    except KbError as exc:
        log.warning("answer failed: %s", exc)
        chat[-1]["content"] = f"⚠️ {exc}\n\nYour question is back in the box: try again."
        yield message, chat, convo, sources


def choose_collections(names: list[str] | None, convo: Conversation) -> Conversation:
    """The collections this conversation searches from now on (none picked: all)."""
    convo.collections = list(names or [])
    return convo


def _remember(convo: Conversation, answer: Answer) -> None:
    convo.answers.append(answer)
    convo.history += [
        {"role": "user", "content": answer.question},
        {"role": "assistant", "content": answer.text},
    ]


def save_turn(parts: PageParts, owner: str | None, convo: Conversation, answer: Answer) -> None:
    """Save a finished turn as `owner`'s: the first one creates the saved conversation, and one
    deleted meanwhile (in another tab) is saved anew. A store that fails is logged and the chat
    goes on: the answer was given, only its saving was lost."""
    if owner is not None:
        scope = Scope(convo.backend, convo.collections)
        convo.saved_id = parts.session.save(owner, convo.saved_id, scope, answer.question, answer)


def switch_backend(
    parts: PageParts, name: str, convo: Conversation
) -> tuple[str, Conversation, str]:
    """Switch this conversation's backend, or say why it is unavailable."""
    choice = parts.session.pool.choice(name)
    if not choice.available:
        gr.Warning(f"{choice.label} is unavailable: {choice.reason}")
        return convo.backend, convo, status_line(parts, convo.backend)
    convo.backend = name
    return name, convo, status_line(parts, name)


def add_documents(
    parts: PageParts,
    paths: list[str] | None,
    on_file: FileProgress | None = None,
    collection: str = "",
    caller: Caller = PAGE_USER,
) -> tuple[str, None]:
    """Ingest uploaded files into `collection` (empty: as `kb ingest` decides; a login limited
    to some collections must name one of them); the library refuses a file of the wrong type
    or size (listed with its reason, the others go in) and a batch of too many files (nothing
    goes in)."""
    if not paths:
        return "", None
    try:
        name = check_collection_name(collection.strip()) if collection.strip() else None
        if caller.collections is not None and name not in caller.collections:
            raise AccessDeniedError(
                f"add to one of your collections: {', '.join(sorted(caller.collections))}"
            )
        files = [(Path(raw), Path(raw).name) for raw in paths]
        report = parts.session.library.add_files(files, on_file, name)
    except (KbError, ValueError) as exc:
        return f"❌ upload failed: {exc}", None
    return render.upload_markdown(report, []), None


def open_document(parts: PageParts, key: str, caller: Caller = PAGE_USER) -> str:
    """The document a source link points to, its cited span marked; only one the caller may
    see."""
    try:
        source, start, end = render.parse_open_key(key)
        parts.session.library.check_visible(source, caller)
        title, text = parts.session.library.document_text(source)
    except (ValueError, KbError) as exc:
        return f'<div class="kb-empty">Cannot open that document: {exc}</div>'
    return render.document_html(title, source, text, start, end)


def ask_api(
    parts: PageParts,
    question: str,
    backend: str | None = None,
    history: list[Message] | None = None,
    collections: list[str] | None = None,
    caller: Caller = PAGE_USER,
) -> dict[str, object]:
    """`/ask` for gradio_client: a question (and the conversation so far, as in `kb ask -`; the
    collections to search, default all the caller may see) in, the `kb ask --json` object out,
    with `busy` true when the page had no room for it and `scope` saying what it searched."""
    name = backend or parts.session.pool.default
    try:
        scope = Scope(name, narrow(caller, collections or ()))
    except AccessDeniedError as exc:
        raise gr.Error(str(exc)) from None
    with parts.gate.admit() as admitted:
        if not admitted:
            observe_busy(name if _known(parts, name) else "other")  # a caller's text: no label
            return {**busy_answer(question, name).as_dict(), "busy": True, "scope": None}
        answer = parts.session.answering(scope).ask(question, _checked_history(history))
        observe_answer(answer)
        parts.session.audit(answer, caller, scope)
    return {**answer.as_dict(), "busy": False, "scope": caller.scope_line(scope.collections)}


def _known(parts: PageParts, name: str) -> bool:
    """Whether `name` is one of the page's profiles (or `auto`, `hosted`)."""
    return name in (AUTO, HOSTED_ALIAS) or any(
        choice.name == name for choice in parts.session.pool.choices
    )


def _checked_history(history: list[Message] | None) -> list[Message]:
    turns = list(history or [])
    for turn in turns:
        if not (
            isinstance(turn, dict)
            and turn.get("role") in ("user", "assistant")
            and isinstance(turn.get("content"), str)
        ):
            raise gr.Error('history: expected [{"role": "user" or "assistant", "content": text}]')
    return turns
