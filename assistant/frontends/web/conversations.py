"""The page's sidebar of saved conversations: list, open, rename, delete (asked first),
export as Markdown.

Whose conversations: the login user's when the page has a login, else this browser's (a
random id kept in the browser's local storage, `gr.BrowserState`). The handlers here take the
owner as a plain string, so they are tested without a browser; `conversations_sidebar` lays the
sidebar out and wires it. Turns are saved by `events.save_turn`.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.conversations.export import export_markdown
from assistant.conversations.restore import restore_answer
from assistant.conversations.store import ConversationStore
from assistant.errors import KbError
from assistant.frontends.web import render
from assistant.frontends.web.events import Conversation, PageParts

BROWSER_KEY = "kb-browser-id"  # the browser's local-storage key of its id
# Gradio encrypts a BrowserState with a secret it sends to the page itself, and a random one
# changes at each start (the browser would lose its conversations on a restart). The id's 128
# random bits are what keep one browser out of another's conversations, so the key is fixed.
BROWSER_SECRET = "kb-conversations"


def owner_of(request: gr.Request | None, browser_id: str | None) -> str | None:
    """The login user, else the browser; None before the browser has its id."""
    user = getattr(request, "username", None) if request is not None else None
    if user:
        return f"user:{user}"
    return f"browser:{browser_id}" if browser_id else None


def browser_id(current: str | None) -> str:
    """This browser's id: the one it keeps, or a new random one on its first visit."""
    return current or uuid.uuid4().hex


def _store(parts: PageParts) -> ConversationStore:
    if parts.session.conversations is None:
        raise gr.Error("this page does not save conversations")
    return parts.session.conversations


def listing(parts: PageParts, owner: str | None, selected: str | None = None) -> Any:
    """The sidebar's list: the owner's conversations, newest first, `selected` picked."""
    if parts.session.conversations is None or owner is None:
        return gr.update(choices=[], value=None)
    choices = [(c.title, c.id) for c in parts.session.conversations.list_owned(owner)]
    return gr.update(
        choices=choices, value=selected if selected in dict(choices).values() else None
    )


def open_conversation(
    parts: PageParts, owner: str | None, conversation_id: str | None, current: Conversation
) -> tuple[list[Any], Conversation, str, str, list[str], str]:
    """The chat, tab state, sources, backend, collections and title of a saved conversation,
    so follow-ups resolve against its history."""
    if owner is None or not conversation_id:
        return [], Conversation(current.backend), render.sources_html([]), current.backend, [], ""
    try:
        saved = _store(parts).get(owner, conversation_id)
    except KbError as exc:
        raise gr.Error(str(exc)) from exc
    answers = [restore_answer(turn.answer) for turn in saved.turns]
    chat: list[Any] = []
    for turn, answer in enumerate(answers):
        chat += [
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": render.answer_markdown(answer, turn)},
        ]
    summary = saved.summary
    backend = (
        summary.backend if parts.session.pool.choice(summary.backend).available else current.backend
    )
    convo = Conversation(backend, saved.history, answers, list(summary.collections), summary.id)
    convo.answer_at = {2 * turn + 1: turn for turn in range(len(answers))}  # to rate them
    sources = render.sources_html(answers)
    return chat, convo, sources, backend, list(summary.collections), summary.title


def rename_conversation(
    parts: PageParts, owner: str | None, conversation_id: str | None, title: str
) -> Any:
    """Rename the picked conversation; the list shows the new title."""
    if owner is None or not conversation_id:
        raise gr.Error("pick a conversation in the list first")
    try:
        _store(parts).rename(owner, conversation_id, title)
    except KbError as exc:
        raise gr.Error(str(exc)) from exc
    return listing(parts, owner, conversation_id)


def delete_conversation(
    parts: PageParts, owner: str | None, conversation_id: str | None, current: Conversation
) -> tuple[Any, Conversation]:
    """Delete the picked conversation; the tab's chat, if it was that one, is no longer saved."""
    if owner is None or not conversation_id:
        raise gr.Error("pick a conversation in the list first")
    try:
        _store(parts).delete(owner, conversation_id)
    except KbError as exc:
        raise gr.Error(str(exc)) from exc
    if current.saved_id == conversation_id:
        current.saved_id = None
    return listing(parts, owner), current


def export_file(parts: PageParts, owner: str | None, conversation_id: str | None) -> str:
    """The picked conversation as a Markdown file to download."""
    if owner is None or not conversation_id:
        raise gr.Error("pick a conversation in the list first")
    try:
        saved = _store(parts).get(owner, conversation_id)
    except KbError as exc:
        raise gr.Error(str(exc)) from exc
    name = re.sub(r"[^\w .-]+", "", saved.summary.title).strip()[:60] or "conversation"
    path = Path(tempfile.mkdtemp(prefix="kb-export-")) / f"{name}.md"
    path.write_text(export_markdown(saved), encoding="utf-8")
    return str(path)


def browser_state() -> gr.BrowserState:
    """Where the browser keeps its id across reloads and server restarts."""
    return gr.BrowserState("", storage_key=BROWSER_KEY, secret=BROWSER_SECRET)


def conversations_sidebar() -> dict[str, Any]:
    """The sidebar's layout; `wire_sidebar` connects it once the chat exists."""
    with gr.Sidebar(label="Conversations", elem_id="kb-sidebar", position="left"):
        listed = gr.Radio([], label="Saved conversations", elem_id="kb-conversations")
        title = gr.Textbox(label="Title", elem_id="kb-conversation-title", max_lines=1)
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="kb-rename")
            delete = gr.Button("Delete…", size="sm", variant="stop", elem_id="kb-delete")
        with gr.Column(visible=False, elem_id="kb-delete-confirm") as confirm:
            gr.Markdown("Delete this conversation for good? It cannot be undone.")
            with gr.Row():
                yes = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="kb-delete-yes")
                no = gr.Button("Cancel", size="sm", elem_id="kb-delete-no")
        export = gr.Button("Export as Markdown", size="sm", elem_id="kb-export")
        exported = gr.File(label="Markdown export", elem_id="kb-export-file", interactive=False)
    return {
        "list": listed,
        "title": title,
        "rename": rename,
        "delete": delete,
        "confirm": confirm,
        "yes": yes,
        "no": no,
        "export": export,
        "exported": exported,
    }


def wire_sidebar(
    page: gr.Blocks,
    parts: PageParts,
    convo: gr.State,
    chat: dict[str, Any],
    sources: gr.HTML,
    side: dict[str, Any],
) -> None:
    """Open, rename, delete (asked first), export; the list is filled when the page loads."""
    browser, listed = chat["browser"], side["list"]
    private: dict[str, Any] = {"api_visibility": "private"}

    def load(current: str | None, request: gr.Request) -> tuple[str, Any]:
        mine = browser_id(current)
        return mine, listing(parts, owner_of(request, mine))

    def opened(b: str, cid: str | None, c: Conversation, request: gr.Request) -> Any:
        return open_conversation(parts, owner_of(request, b), cid, c)

    def renamed(b: str, cid: str | None, title: str, request: gr.Request) -> Any:
        return rename_conversation(parts, owner_of(request, b), cid, title)

    def deleted(b: str, cid: str | None, c: Conversation, request: gr.Request) -> Any:
        return (*delete_conversation(parts, owner_of(request, b), cid, c), gr.update(visible=False))

    def exported(b: str, cid: str | None, request: gr.Request) -> str:
        return export_file(parts, owner_of(request, b), cid)

    page.load(load, [browser], [browser, listed], **private)
    shown = [chat["chatbot"], convo, sources, chat["backend"], chat["collections"], side["title"]]
    listed.input(opened, [browser, listed, convo], shown, **private)
    side["rename"].click(renamed, [browser, listed, side["title"]], [listed], **private)
    side["delete"].click(lambda: gr.update(visible=True), None, [side["confirm"]], **private)
    side["no"].click(lambda: gr.update(visible=False), None, [side["confirm"]], **private)
    side["yes"].click(
        deleted, [browser, listed, convo], [listed, convo, side["confirm"]], **private
    )
    side["export"].click(exported, [browser, listed], [side["exported"]], **private)


def refresh_after_turn(parts: PageParts) -> Any:
    """After a turn: the list again (a new conversation appears), this one picked."""

    def refresh(b: str, c: Conversation, request: gr.Request) -> Any:
        return listing(parts, owner_of(request, b), c.saved_id)

    return refresh
