"""What the Slack bot does with one message: `SlackBot` answers mentions, DMs and follow-ups
in the threads it is in, keeps each thread's backend, collections and history (saved in the
conversations store when there is one), leaves a thread on `@kb stop`, and streams each answer
into one reply it edits. Bolt wiring is in `assistant/frontends/slack/app.py`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from slack_sdk import WebClient

from assistant.access import AccessDeniedError, Caller, SlackGrants, narrow
from assistant.answering.models import Answer, AnswerStream, Evidence
from assistant.backends.fallback import Restart
from assistant.backends.llms.base import Message
from assistant.documents.catalog import check_scope
from assistant.errors import ConfigurationError, KbError
from assistant.frontends.slack import render
from assistant.frontends.slack.mrkdwn import to_mrkdwn
from assistant.session import Scope, Session
from assistant.settings import Settings
from assistant.telemetry.metrics import observe_answer

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
# A reply also sent to the channel is still a reply; other subtypes are edits, joins, bots...
_ANSWERED_SUBTYPES = (None, "thread_broadcast")
_STOP = re.compile(r"^\s*stop\s*[.!]?\s*$", re.IGNORECASE)
_USE = re.compile(r"^\s*use\s+([\w.-]+)\s*$", re.IGNORECASE)
# `use collection NAME [NAME ...]` (or `all`) scopes the thread's questions.
_USE_COLLECTION = re.compile(r"^\s*use\s+collections?\s+([\w.\s,-]+?)\s*$", re.IGNORECASE)


@dataclass
class SlackThread:
    """One Slack thread's conversation: its backend and its history."""

    backend: str
    history: list[Message] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)  # searched; empty: all of them
    following: bool = True  # answers follow-ups without a mention; `@kb stop` turns it off


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

    def get(self, key: K) -> V | None:
        """The value of `key` when it is remembered (not counted as a use)."""
        with self._lock:
            return self._items.get(key)

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

    def __init__(self, session: Session, settings: Settings):
        self.session, self.settings = session, settings
        self.pool, self.conversations = session.pool, session.conversations
        self.default_backend = settings.slack.backend or settings.llm.backend
        self.update_every_s = settings.slack.update_every_s
        self.threads: LruMap[tuple[str, str], SlackThread] = LruMap()
        self.deliveries: LruMap[tuple[object, object], object] = LruMap()
        self.limiter = RateLimiter(settings.slack.requests_per_minute)
        slack = settings.slack
        self.grants = SlackGrants(
            slack.channel_collections, slack.user_collections, slack.default_collections
        )

    def caller_of(self, event: dict[str, Any]) -> Caller:
        """Who wrote `event`, with what its channel (or, in a DM, its user) may see."""
        direct = event.get("channel_type") == "im"
        team, user = event.get("team", ""), event.get("user", "")
        return self.grants.caller(team, user, event["channel"], direct)

    def should_answer(self, event: dict[str, Any], retry_num: str | None) -> bool:
        """False for retries, duplicates, bots, edits and other events kb must not answer."""
        # Slack re-sent it (the first delivery is being answered). Socket Mode's first delivery
        # says retry_attempt 0, which Bolt passes on as retry number "0": that one is new.
        if retry_num not in (None, "0"):
            return False
        if event.get("bot_id") or event.get("subtype") not in _ANSWERED_SUBTYPES:
            return False  # bots, edits, deletions, joins
        return self.deliveries.first_time((event.get("channel"), event.get("ts")))

    def follows(self, event: dict[str, Any], bot_user: str | None) -> bool:
        """Whether a channel message is a follow-up kb answers without a mention: a reply in a
        thread kb is in and was not told to leave, not addressed to someone else."""
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return False  # top-level channel messages are people talking to each other
        mentioned = set(_MENTION.findall(event.get("text", "")))
        if mentioned and bot_user not in mentioned:
            return False  # addressed to someone else (a mention of kb comes as app_mention too)
        thread = self._known_thread(event["channel"], thread_ts, thread_key(event, thread_ts))
        return thread is not None and thread.following

    def _known_thread(self, channel: str, thread_ts: str, key: str) -> SlackThread | None:
        """The thread when kb has replied in it (in memory, or saved before a restart)."""
        thread = self.threads.get((channel, thread_ts))
        if thread is None and self.conversations and self.conversations.exists(key, key):
            thread = self.threads.setdefault((channel, thread_ts), lambda: self._restored(key))
        return thread

    def handle(self, event: dict[str, Any], client: WebClient) -> None:
        """Answer one mention, DM or follow-up in its thread (or switch the thread's backend or
        collections, or leave the thread on `@kb stop`)."""
        channel, user = event["channel"], event.get("user", "")
        thread_ts = event.get("thread_ts") or event["ts"]
        raw = event.get("text", "")
        text = _MENTION.sub("", raw).strip()
        key = thread_key(event, thread_ts)
        thread = self.threads.setdefault((channel, thread_ts), lambda: self._restored(key))
        post = _poster(client, channel, thread_ts)
        if _MENTION.search(raw) and _STOP.match(text):
            thread.following = False
            post("OK, I'll stay out of this thread. Mention me to bring me back.")
            self._save(key, thread, text)
            return
        thread.following = True  # a mention, a DM or a follow-up: kb is (back) in the thread
        caller = self.caller_of(event)
        if scope := _USE_COLLECTION.match(text):
            post(self._choose_collections(caller, thread, scope.group(1)))
            self._save(key, thread, text)
        elif backend := _USE.match(text):
            self._choose_backend(client, channel, thread_ts, thread, backend.group(1))
            self._save(key, thread, text)
        elif not text:
            post("Ask me a question about the documents.")
        elif not self.limiter.allow(user):
            post(render.TOO_FAST)
        elif answer := self._answer(client, (channel, thread_ts), thread, text, caller):
            self._save(key, thread, text, answer, asked_by=f"{event.get('team', '')}/{user}")

    def _restored(self, key: str) -> SlackThread:
        """The thread as saved before a restart, or a new one."""
        saved = self.conversations.find(key, key) if self.conversations else None
        if saved is None:
            return SlackThread(self.default_backend)
        backend = saved.summary.backend
        if backend != "auto" and not self.pool.choice(backend).available:
            backend = self.default_backend  # its backend is gone: the default answers now
        summary = saved.summary
        return SlackThread(backend, saved.history, list(summary.collections), summary.following)

    def _save(
        self,
        key: str,
        thread: SlackThread,
        text: str,
        answer: Answer | None = None,
        asked_by: str | None = None,
    ) -> None:
        """Save the thread's backend, collections, whether kb follows it and (when given) its
        new turn; the key is both owner and id. A store that fails is logged: the thread goes
        on in memory."""
        store = self.conversations
        if store is None:
            return
        scope = Scope(thread.backend, thread.collections)
        self.session.save(key, key, scope, text, answer, asked_by, new_id=key)
        try:
            store.set_following(key, key, thread.following)
        except (KbError, sqlite3.Error) as exc:
            log.warning("slack: could not save thread %s: %s", key, exc)

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

    def _choose_collections(self, caller: Caller, thread: SlackThread, names: str) -> str:
        """Narrow (or widen back, up to what the channel may see) what the thread searches;
        the reply."""
        wanted = [name for name in re.split(r"[\s,]+", names) if name]
        if [name.lower() for name in wanted] == ["all"]:
            thread.collections = []
            return "This thread now searches *all* collections (all it may see)."
        try:
            narrow(caller, wanted)
            check_scope(self.session.assistant.retriever.state.files, wanted)
        except KbError as exc:
            return f"I can't: {render.escape(str(exc))}."
        thread.collections = wanted
        return f"This thread now searches only *{', '.join(wanted)}*."

    def _answer(
        self,
        client: WebClient,
        place: tuple[str, str],
        thread: SlackThread,
        question: str,
        caller: Caller,
    ) -> Answer | None:
        channel, thread_ts = place
        try:
            scope = Scope(thread.backend, narrow(caller, thread.collections))
        except AccessDeniedError as exc:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=f"I can't: {exc}.")
            return None
        posted = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render.SEARCHING
        )
        reply_ts = posted["ts"]
        try:
            final = self._stream_into(client, channel, reply_ts, thread, question, scope)
            observe_answer(final)
        except Exception as exc:  # the thread gets an apology, the log gets the detail
            log.exception("slack: answer failed in %s/%s", channel, thread_ts)
            client.chat_update(channel=channel, ts=reply_ts, text=render.apology(exc))
            return None
        self.session.audit(final, caller, scope)
        feedback_id = self.session.remember(final, "slack", thread.history)
        thread.history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": final.text},
        ]
        blocks = render.answer_blocks(final, feedback_id, caller.scope_line(scope.collections))
        client.chat_update(
            channel=channel, ts=reply_ts, text=render.fallback_text(final), blocks=blocks
        )
        return final

    def _stream_into(
        self,
        client: WebClient,
        channel: str,
        ts: str,
        thread: SlackThread,
        question: str,
        scope: Scope,
    ) -> Answer:
        assistant = self.session.answering(scope)
        evidence, note, reply, last_edit = "", "", "", 0.0  # the first token is shown at once
        sources = [question]  # what links may come from: the question, then the passages
        stream = AnswerStream(assistant.stream(question, list(thread.history)))
        for event in stream:
            if isinstance(event, Evidence):  # at once: what the documents say, reply below
                evidence = render.evidence_mrkdwn(event) + "\n\n"
                sources += [quote.hit.chunk.text for quote in event.quotes]
            elif isinstance(event, Restart):
                note, reply = f"_{render.escape(event.note)}…_\n", ""
            else:
                reply += event
            if not isinstance(event, str) or time.monotonic() - last_edit >= self.update_every_s:
                shown = evidence + note + to_mrkdwn(reply, sources)  # mrkdwn as it grows too
                client.chat_update(channel=channel, ts=ts, text=shown + " …")
                last_edit = time.monotonic()
        return stream.answer()


def _poster(client: WebClient, channel: str, thread_ts: str) -> Callable[[str], None]:
    """Post a short text reply in the thread."""

    def post(text: str) -> None:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    return post


def thread_key(event: dict[str, Any], thread_ts: str) -> str:
    """A thread's key in the conversations store: its team, channel and thread."""
    return f"slack:{event.get('team', '')}/{event['channel']}/{thread_ts}"
