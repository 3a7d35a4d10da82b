"""The web page: a Chat tab (streamed answers, a sources panel, a backend switch, the
collections searched) and a Documents tab (list, search, remove, re-index, upload).

A thin Gradio adapter over one `Assistant`, a `ChatModelPool` (backend per conversation) and a
`DocumentLibrary` (the documents). This module lays the page out, wires its events to
`events` (the Documents tab: `documents`), and serves it; what it shows is rendered by
`render`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from assistant.access import Caller, visible
from assistant.backends.llms.base import Message
from assistant.backends.llms.llama_cpp import LlamaCppChatModel
from assistant.backends.pool import BackendChoice, ChatModelPool
from assistant.backends.routing import AUTO
from assistant.documents.watching import BackgroundSync
from assistant.feedback.store import FeedbackStore
from assistant.frontends.web import render
from assistant.frontends.web.busy import BUSY_HEADROOM, BusyGate
from assistant.frontends.web.conversations import (
    browser_state,
    conversations_sidebar,
    owner_of,
    refresh_after_turn,
    wire_sidebar,
)
from assistant.frontends.web.documents import documents_tab
from assistant.frontends.web.events import (
    PAGE_USER,
    Conversation,
    PageParts,
    answer_turn,
    ask_api,
    choose_collections,
    open_document,
    status_line,
    switch_backend,
)
from assistant.frontends.web.feedback import rate_message, thumbs_shown
from assistant.frontends.web.server import api_access, launch, page_auth, page_logins
from assistant.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = [
    "When do open-source models cost less than proprietary APIs at scale?",
    "Why do privacy and compliance push teams to deploy models on-premise?",
    "What does the Gemma licence say about model derivatives?",
    "What is the hybrid strategy for using open and closed models?",
]


# Chat turns and `/ask` share one concurrency group with room for more handlers than the busy
# gate admits, so a question past the gate's limit is answered "busy" at once rather than
# waiting unseen in Gradio's queue.
ANSWERS = "answers"


def _answer_slots(parts: PageParts) -> dict[str, Any]:
    return {"concurrency_id": ANSWERS, "concurrency_limit": parts.gate.limit + BUSY_HEADROOM}


def _radio_choices(choices: list[BackendChoice]) -> list[tuple[str, str]]:
    """Each usable profile, and each unusable one with its reason; a local server's preset
    is left out until its model is set (docs/backends.md says how)."""
    return [(c.display, c.name) for c in choices if c.offered]


def build_web_ui(parts: PageParts, notice: str | None = None) -> gr.Blocks:
    """The Gradio page: status line, a `notice` under it if any (`slow_start_notice`); Chat
    and Documents tabs."""
    with gr.Blocks(title="kb: ask your documents", fill_width=True) as page:
        convo = gr.State(Conversation(parts.session.pool.default))
        side = conversations_sidebar() if parts.session.conversations else None
        gr.Markdown("## kb: ask your documents", elem_id="kb-title")
        status = gr.Markdown(elem_id="kb-status")
        if notice:  # said once, under the status line; the backend stays the user's choice
            gr.Markdown(f"⏱️ {notice}", elem_id="kb-notice")
        with gr.Tabs():
            with gr.Tab("Chat", elem_id="kb-chat-tab"), gr.Row():
                with gr.Column(scale=3):
                    chat = _chat_column(parts, convo, status)
                    chat.update(browser=browser_state(), side=side)
                with gr.Column(scale=2):
                    sources = _sources_column(parts, convo, chat)
                if side:
                    wire_sidebar(page, parts, convo, chat, sources, side)
            with gr.Tab("Documents", elem_id="kb-documents-tab"):
                documents_tab(parts, _refresher(parts, convo, status, chat["collections"]), page)
        page.load(_status_and_picker(parts), [convo], [status, chat["collections"]])
        if parts.sync:  # the status line says when the folders were last synced
            gr.Timer(5).tick(
                lambda c: status_line(parts, c.backend), [convo], [status], api_visibility="private"
            )

        def ask(
            question: str,
            request: gr.Request,
            backend: str | None = None,
            history: list[Message] | None = None,
            collections: list[str] | None = None,
        ) -> dict[str, object]:
            caller = parts.caller(request)
            return ask_api(parts, question, backend, history, collections, caller)

        gr.api(ask, api_name="ask", **_answer_slots(parts))
    return page


def _chat_column(parts: PageParts, convo: gr.State, status: gr.Markdown) -> dict[str, Any]:
    backend = gr.Radio(
        _radio_choices(parts.session.pool.choices),
        value=parts.session.pool.default,
        label="Backend for this conversation",
        elem_id="kb-backend",
    )
    chatbot = gr.Chatbot(elem_id="kb-chat", height=520, label="Conversation", buttons=["copy"])
    with gr.Row():
        box = gr.Textbox(
            placeholder="Ask about the documents…", show_label=False, scale=5, elem_id="kb-question"
        )
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="kb-ask")
        new = gr.Button("New chat", scale=1, elem_id="kb-new-chat")
    gr.Examples(EXAMPLES, inputs=[box], label="Try")
    collections = gr.Dropdown(
        [],  # filled per login when the page loads
        multiselect=True,
        label="Search in collections (none picked: all)",
        elem_id="kb-collections",
    )
    backend.change(
        lambda n, c: switch_backend(parts, n, c),
        [backend, convo],
        [backend, convo, status],
        api_visibility="private",
    )
    collections.change(choose_collections, [collections, convo], [convo], api_visibility="private")
    return {
        "chatbot": chatbot,
        "box": box,
        "send": send,
        "new": new,
        "backend": backend,
        "collections": collections,
    }


def _refresher(
    parts: PageParts, convo: gr.State, status: gr.Markdown, picker: gr.Dropdown
) -> Callable[[Any], None]:
    """What follows a change of the documents: the status line and the collection picker."""

    def after_change(event: Any) -> None:
        event.then(
            _status_and_picker(parts),
            [convo],
            [status, picker],
            api_visibility="private",
        )

    return after_change


def _status_and_picker(parts: PageParts) -> Callable[[Conversation, gr.Request], Any]:
    """The status line, and the collection picker of this login: only what it may see."""

    def refreshed(convo: Conversation, request: gr.Request) -> tuple[str, Any]:
        picker = _picker_update(parts, convo, parts.caller(request))
        return status_line(parts, convo.backend), picker

    return refreshed


def _picker_update(parts: PageParts, convo: Conversation, caller: Caller = PAGE_USER) -> Any:
    """The collection picker after the documents changed: a collection that is gone is
    dropped from the conversation's scope too."""
    names = visible(caller, parts.session.library.collections())
    convo.collections = [name for name in convo.collections if name in names]
    return gr.update(choices=names, value=convo.collections)


def _sources_column(parts: PageParts, convo: gr.State, chat: dict[str, Any]) -> gr.HTML:
    sources = gr.HTML(render.sources_html([]), elem_id="kb-sources", label="Sources")
    document = gr.HTML("", elem_id="kb-document")
    open_key = gr.Textbox(elem_id="kb-open-key", elem_classes=["kb-hidden"], show_label=False)
    open_button = gr.Button("open", elem_id="kb-open-button", elem_classes=["kb-hidden"])
    _wire_chat(parts, convo, chat, sources, document)

    def opened(key: str, request: gr.Request) -> str:
        return open_document(parts, key, parts.caller(request))

    open_button.click(
        opened,
        [open_key],
        [document],
        api_visibility="private",
    ).then(None, js=SCROLL_TO_MARK)
    return sources


SCROLL_TO_MARK = "() => document.getElementById('kb-doc-mark')?.scrollIntoView({block: 'center'})"


def _wire_chat(
    parts: PageParts, convo: gr.State, chat: dict[str, Any], sources: gr.HTML, document: gr.HTML
) -> None:
    def turn(
        message: str, history: list[Any], c: Conversation, browser: str, request: gr.Request
    ) -> Iterator[Any]:
        owner = owner_of(request, browser)
        yield from answer_turn(parts, message, history, c, owner, parts.caller(request))

    outputs = [chat["box"], chat["chatbot"], convo, sources]
    for trigger in (chat["box"].submit, chat["send"].click):
        event = trigger(
            turn,
            [chat["box"], chat["chatbot"], convo, chat["browser"]],
            outputs,
            api_visibility="private",
            **_answer_slots(parts),
        )
        if parts.session.feedback:  # the chat re-rendered: the thumbs chosen so far, shown again
            event.then(thumbs_shown, [chat["chatbot"], convo], [chat["chatbot"]], **_private())
        if chat["side"]:  # a new conversation appears in the list, picked
            event.then(
                refresh_after_turn(parts),
                [chat["browser"], convo],
                [chat["side"]["list"]],
                api_visibility="private",
            )

    if parts.session.feedback:  # the thumbs show only where a like event is wired
        _wire_feedback(parts.session.feedback, convo, chat)

    def new_chat(c: Conversation) -> tuple[list[Any], Conversation, str, str]:
        return [], Conversation(c.backend), render.sources_html([]), ""

    new = chat["new"].click(
        new_chat, [convo], [chat["chatbot"], convo, sources, document], api_visibility="private"
    )
    if chat["side"]:  # nothing picked in the list: the next question starts a new one
        side = [chat["side"]["list"], chat["side"]["title"]]
        new.then(lambda: (None, ""), None, side, api_visibility="private")


def _private() -> dict[str, Any]:
    return {"api_visibility": "private"}


def _wire_feedback(store: FeedbackStore, convo: gr.State, chat: dict[str, Any]) -> None:
    def rate(c: Conversation, browser: str, like: gr.LikeData, request: gr.Request) -> Any:
        return rate_message(store, c, like.index, like.liked, owner_of(request, browser))

    chat["chatbot"].like(rate, [convo, chat["browser"]], [convo], api_visibility="private")


def build_page_parts(settings: Settings) -> PageParts:
    """What the page needs, built from settings: the session, the busy gate, the folder sync."""
    from assistant.wiring import build_session

    session = build_session(settings)
    sync = None
    if settings.web.watch:
        paths = list(settings.ingest.paths)
        sync = BackgroundSync(paths, lambda: session.library.sync(paths))
    return PageParts(session, BusyGate(settings.web.max_waiting), sync, page_logins(settings))


def check_local_builds(pool: ChatModelPool) -> None:
    """Before the page opens: a llama.cpp build that would die on this CPU stops the start with
    the fix in words (a probe in a child process, remembered once it passes)."""
    default = pool.rules.private if pool.default == AUTO else pool.default
    for name in (default, *pool.rules.fallback):
        choice = pool.choice(name)
        if choice.available and not choice.hosted:
            model = pool.get(choice.name)
            if isinstance(model, LlamaCppChatModel):
                model.check_build()


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the page and the API on `host`:`port` until interrupted."""
    from assistant.backends.profiles import slow_start_notice
    from assistant.frontends.mcp.server import build_mcp_server

    auth = page_auth(settings, host)  # before loading models: refuse fast
    access = api_access(settings, host)
    parts = build_page_parts(settings)
    check_local_builds(parts.session.pool)
    log.info("kb web page on http://%s:%d/, API at /v1, MCP at /mcp", host, port)
    if not access.loopback and not access.tokens:
        log.warning("the API and MCP answer 401 on %s until KB_API__TOKENS is set", host)
    page = build_web_ui(parts, slow_start_notice(settings))  # after the probe: it counts
    if parts.sync:
        parts.sync.start()
    mcp = build_mcp_server(
        parts.session, settings.llm.backend, settings.mcp.share_local_only, parts.gate
    )
    launch(page, parts, host, port, auth=auth, access=access, mcp=mcp)
