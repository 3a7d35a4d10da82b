"""The Slack bot: answers mentions and direct messages in threads, with cited sources.

A thin Bolt adapter over the same `Assistant` and backend pool as the web page. Each thread
is a conversation (its turns feed follow-ups; `use NAME` picks its backend, `use collection
NAME` the collections it searches); with a conversations store, each thread's state is saved
there and read back on its first message after a restart. The bot posts a
"searching" reply, edits it as the answer grows, then replaces it with the answer and its
sources. It ignores bots (itself included), edits and Slack's retried deliveries, limits
answers per user, and apologises in the thread on errors. Building the app never calls
Slack, so it starts and is tested offline; `api_base_url` points the Web API elsewhere.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from slack_bolt import App
from slack_sdk import WebClient

from assistant.answering.events import AnswerStream
from assistant.answering.models import Answer, Evidence
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import Restart
from assistant.backends.llms.base import Message
from assistant.backends.pool import ChatModelPool
from assistant.backends.profiles import read_key
from assistant.conversations.store import ConversationStore
from assistant.documents.catalog import check_scope
from assistant.errors import ConfigurationError, KbError
from assistant.frontends import slack_render as render
from assistant.frontends.slack_http import EventsServer, HttpLimits
from assistant.settings import Settings
from assistant.telemetry.metrics import observe_answer

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>")
_USE = re.compile(r"^\s*use\s+([\w.-]+)\s*$", re.IGNORECASE)
# `use collection NAME [NAME ...]` (or `all`) scopes the thread's questions.
_USE_COLLECTION = re.compile(r"^\s*use\s+collections?\s+([\w.\s,-]+?)\s*$", re.IGNORECASE)


@dataclass
class SlackThread:
    """One Slack thread's conversation: its backend and its history."""

    backend: str
    history: list[Message] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)  # searched; empty: all of them


K = TypeVar("K")
V = TypeVar("V")


class LruMap(Generic[K, V]):
    """A map that keeps only its `size` most recently used keys: threads, or deliveries
    already handled."""

    def __init__(self, size: int = 2000):
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def setdefault(self, key: K, make: Callable[[], V]) -> V:
        """The value of `key`, made (and the oldest key forgotten) on first use."""
        with self._lock:
            if key not in self._items:
                self._items[key] = make()
                if len(self._items) > self._size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return self._items[key]

    def first_time(self, key: K) -> bool:
        """True the first time `key` is seen (while it is remembered), then False."""
        marker = cast(V, object())
        return self.setdefault(key, lambda: marker) is marker


class RateLimiter:
    """At most `per_minute` questions per user in any minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self._limit, self._clock = per_minute, clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, user: str) -> bool:
        """True, and counted, when `user` may ask now."""
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(user, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= self._limit:
                return False
            calls.append(now)
            return True


class SlackBot:
    """What the bot does with one incoming message; Bolt wiring is in `build_slack_app`."""

    def __init__(
        self,
        assistant: Assistant,
        pool: ChatModelPool,
        settings: Settings,
        conversations: ConversationStore | None = None,
    ):
        self.assistant, self.pool, self.conversations = assistant, pool, conversations
        self.default_backend = settings.slack.backend or settings.llm.backend
        self.update_every_s = settings.slack.update_every_s
        self.threads: LruMap[tuple[str, str], SlackThread] = LruMap()
        self.deliveries: LruMap[tuple[object, object], object] = LruMap()
        self.limiter = RateLimiter(settings.slack.requests_per_minute)

    def should_answer(self, event: dict[str, Any], retry_num: str | None) -> bool:
        """False for retries, duplicates, bots, edits and other events kb must not answer."""
        # Slack re-sent it (the first delivery is being answered). Socket Mode's first delivery
        # says retry_attempt 0, which Bolt passes on as retry number "0": that one is new.
        if retry_num not in (None, "0"):
            return False
        if event.get("bot_id") or event.get("subtype"):  # bots, edits, deletions, joins
            return False
        return self.deliveries.first_time((event.get("channel"), event.get("ts")))

    def handle(self, event: dict[str, Any], client: WebClient) -> None:
        """Answer one mention or DM in its thread (or switch the thread's backend)."""
        channel, user = event["channel"], event.get("user", "")
        thread_ts = event.get("thread_ts") or event["ts"]
        text = _MENTION.sub("", event.get("text", "")).strip()
        key = thread_key(event, thread_ts)
        thread = self.threads.setdefault((channel, thread_ts), lambda: self._restored(key))
        if scope := _USE_COLLECTION.match(text):
            self._choose_collections(client, channel, thread_ts, thread, scope.group(1))
            self._save(key, thread, text)
        elif _USE.match(text):
            self._choose_backend(client, channel, thread_ts, thread, _USE.match(text).group(1))  # type: ignore[union-attr]
            self._save(key, thread, text)
        elif not text:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text="Ask me a question about the documents."
            )
        elif not self.limiter.allow(user):
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text="You are asking faster than I can answer: please wait a minute.",
            )
        elif answer := self._answer(client, channel, thread_ts, thread, text):
            self._save(key, thread, text, answer)

    def _restored(self, key: str) -> SlackThread:
        """The thread as saved before a restart, or a new one."""
        saved = self.conversations.find(key, key) if self.conversations else None
        if saved is None:
            return SlackThread(self.default_backend)
        backend = saved.summary.backend
        if backend != "auto" and not self.pool.choice(backend).available:
            backend = self.default_backend  # its backend is gone: the default answers now
        return SlackThread(backend, saved.history, list(saved.summary.collections))

    def _save(self, key: str, thread: SlackThread, text: str, answer: Answer | None = None) -> None:
        """Save the thread's backend, collections and (when given) its new turn; the key is
        both owner and id. A store that fails is logged: the thread goes on in memory."""
        store = self.conversations
        if store is None:
            return
        try:
            if not store.exists(key, key):
                store.create(key, text, thread.backend, thread.collections, conversation_id=key)
            store.set_scope(key, key, thread.backend, thread.collections)
            if answer is not None:
                store.append(key, key, answer)
        except (KbError, sqlite3.Error) as exc:
            log.warning("slack: could not save thread %s in %s: %s", key, store.path, exc)

    def _choose_backend(
        self, client: WebClient, channel: str, thread_ts: str, thread: SlackThread, name: str
    ) -> None:
        try:
            if name != "auto":
                choice = self.pool.choice(name)
                if not choice.available:
                    raise ConfigurationError(f"{choice.label} is unavailable: {choice.reason}")
            self.pool.router(name)
            thread.backend = self.pool.choice(name).name if name != "auto" else name
            reply = f"This thread now uses *{thread.backend}*."
        except ConfigurationError as exc:
            names = ", ".join(c.name for c in self.pool.choices if c.available)
            reply = (
                f"I can't use {render.escape(name)}: {render.escape(str(exc))}. Available: {names}."
            )
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=reply)

    def _choose_collections(
        self, client: WebClient, channel: str, thread_ts: str, thread: SlackThread, names: str
    ) -> None:
        wanted = [name for name in re.split(r"[\s,]+", names) if name]
        if [name.lower() for name in wanted] == ["all"]:
            thread.collections = []
            reply = "This thread now searches *all* collections."
        else:
            try:
                check_scope(self.assistant.retriever.state.files, wanted)
                thread.collections = wanted
                reply = f"This thread now searches only *{', '.join(wanted)}*."
            except KbError as exc:
                reply = f"I can't: {render.escape(str(exc))}."
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=reply)

    def _answer(
        self, client: WebClient, channel: str, thread_ts: str, thread: SlackThread, question: str
    ) -> Answer | None:
        posted = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render.SEARCHING
        )
        reply_ts = posted["ts"]
        try:
            final = self._stream_into(client, channel, reply_ts, thread, question)
            observe_answer(final)
        except Exception as exc:  # the thread gets an apology, the log gets the detail
            log.exception("slack: answer failed in %s/%s", channel, thread_ts)
            why = str(exc) if isinstance(exc, KbError) else "an internal error"
            client.chat_update(
                channel=channel,
                ts=reply_ts,
                text=f"Sorry, I could not answer that ({render.escape(why)}). Please try again.",
            )
            return None
        thread.history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": final.text},
        ]
        client.chat_update(
            channel=channel, ts=reply_ts, text=final.text, blocks=render.answer_blocks(final)
        )
        return final

    def _stream_into(
        self, client: WebClient, channel: str, ts: str, thread: SlackThread, question: str
    ) -> Answer:
        assistant = self.assistant.scoped(thread.collections)
        assistant = assistant.routed(self.pool.router(thread.backend))
        evidence, shown, last_edit = "", "", 0.0  # the first token is shown at once
        stream = AnswerStream(assistant.stream(question, list(thread.history)))
        for event in stream:
            if isinstance(event, Evidence):  # at once: what the documents say, reply below
                evidence = render.evidence_mrkdwn(event) + "\n\n"
            elif isinstance(event, Restart):
                shown = f"_{render.escape(event.note)}…_\n"
            else:
                shown += render.escape(event)
            if not isinstance(event, str) or time.monotonic() - last_edit >= self.update_every_s:
                client.chat_update(channel=channel, ts=ts, text=evidence + shown + " …")
                last_edit = time.monotonic()
        return stream.answer()


def thread_key(event: dict[str, Any], thread_ts: str) -> str:
    """A thread's key in the conversations store: its team, channel and thread."""
    return f"slack:{event.get('team', '')}/{event['channel']}/{thread_ts}"


def _secret(variable: str) -> str | None:
    value = read_key(variable)
    return value.get_secret_value() if value else None


def build_slack_app(
    assistant: Assistant,
    settings: Settings,
    pool: ChatModelPool | None = None,
    listener_executor: Executor | None = None,
    conversations: ConversationStore | None = None,
) -> App:
    """The Bolt app; nothing here talks to Slack (no token check at construction).

    Listeners run on `listener_executor` after the ack (Bolt's own thread pool when None);
    tests pass one they can wait on. Threads are saved in `conversations` when given."""
    from assistant.backends.profiles import build_pool

    token = _secret(settings.slack.bot_token_env)
    if token is None:
        raise ConfigurationError(f"set {settings.slack.bot_token_env} (the bot's xoxb- token)")
    client = WebClient(token=token, base_url=settings.slack.api_base_url or WebClient.BASE_URL)
    signing_secret = _secret(settings.slack.signing_secret_env)
    app = App(
        token=token,
        client=client,
        # Socket Mode has no signature to check; HTTP mode needs the secret (`serve`).
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        token_verification_enabled=False,
        ignoring_self_events_enabled=False,  # would call auth.test; bot messages are skipped anyway
        listener_executor=listener_executor,
    )
    bot = SlackBot(assistant, pool or build_pool(settings), settings, conversations)

    def on_event(event: dict[str, Any], client: WebClient, request: Any) -> None:
        retry = request.headers.get("x-slack-retry-num")
        if event.get("type") == "message" and event.get("channel_type") != "im":
            return  # in channels the bot answers mentions only
        if bot.should_answer(event, retry[0] if retry else None):
            bot.handle(event, client)

    app.event("app_mention")(on_event)
    app.event("message")(on_event)
    return app


def http_server(
    app: App,
    host: str,
    port: int,
    signing_secret: str,
    path: str = "/slack/events",
    limits: HttpLimits | None = None,
) -> EventsServer:
    """Events API over HTTP (assistant/frontends/slack_http.py); `serve_forever()` to run."""
    return EventsServer(app, host, port, path, signing_secret, limits or HttpLimits())


def run_socket_mode(app: App, app_token: str, stop: threading.Event | None = None) -> Any:
    """Connect over Socket Mode (no public URL) and block until interrupted or `stop` is set;
    returns the handler, closed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
        log.info("kb slack: connected over Socket Mode")
        (stop or threading.Event()).wait()  # `kb slack` passes none: it runs until Ctrl-C
    except KeyboardInterrupt:
        log.info("kb slack: stopping")
    finally:
        handler.close()
    return handler


def serve(settings: Settings, http: bool, host: str, port: int) -> None:
    """`kb slack`: build the assistant and the app, then Socket Mode or HTTP events."""
    from assistant.backends.profiles import build_pool
    from assistant.wiring import build_assistant

    signing_secret = _secret(settings.slack.signing_secret_env)
    if http and not signing_secret:
        raise ConfigurationError(f"set {settings.slack.signing_secret_env} for --http")
    app_token = None if http else _secret(settings.slack.app_token_env)
    if not http and app_token is None:
        raise ConfigurationError(f"set {settings.slack.app_token_env} (xapp- token) or use --http")
    pool = build_pool(settings)
    store = ConversationStore(settings.web.conversations_db)
    app = build_slack_app(build_assistant(settings, pool=pool), settings, pool, conversations=store)
    if http and signing_secret:
        limits = HttpLimits(settings.slack.max_body_kb * 1024, settings.slack.read_timeout_s)
        server = http_server(app, host, port, signing_secret, limits=limits)
        log.info("kb slack: Events API on http://%s:%d/slack/events", host, port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.shutdown()
    elif app_token is None:
        raise ConfigurationError("Socket Mode needs an app-level token: set SLACK_APP_TOKEN")
    else:
        run_socket_mode(app, app_token)
