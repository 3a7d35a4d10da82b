"""The App Home tab: what kb knows (documents, model, backends, last sync), how to ask it, and
the user's own recent questions with links to their threads.

Published with `views.publish` each time the user opens the tab, so it is never stale.
`home_view` is a pure function of `HomeFacts` and the recent questions; `gather_facts` reads
them from the bot's index, backend pool and settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assistant.access import Caller
from assistant.documents.catalog import collection_sizes
from assistant.frontends.slack.render import escape

if TYPE_CHECKING:
    from assistant.frontends.slack.bot import SlackBot

log = logging.getLogger(__name__)

TITLES_SHOWN = 10  # documents named on the tab; the count covers all of them
RECENT_SHOWN = 5

HOW_TO = "\n".join(
    [
        "*How to ask*",
        "• Mention me in a channel: `@kb What does the report say about costs?` "
        "I answer in a thread, with the passages I used.",
        "• Follow-ups in that thread need no mention; `@kb stop` makes me leave the thread.",
        "• `/kb QUESTION` answers in the channel for everyone; `/kb -p QUESTION` only for you.",
        "• In a thread: `@kb use NAME` picks the backend, `@kb use collection NAME` "
        "the documents searched.",
        "• 👍 / 👎 under an answer tell the team what to fix.",
    ]
)


@dataclass(frozen=True)
class HomeFacts:
    """What the Home tab says about kb itself."""

    documents: int
    chunks: int
    titles: tuple[str, ...]  # the first `TITLES_SHOWN` documents' titles (or file names)
    collections: dict[str, int]  # name -> documents
    model: str  # the default backend's label
    backends: tuple[str, ...]  # the labels of the backends a thread can pick
    last_sync: float | None  # when the index was last written (epoch seconds)


@dataclass(frozen=True)
class RecentQuestion:
    """One of the user's questions and a link to its thread (None: Slack gave none)."""

    question: str
    link: str | None
    asked: float


def gather_facts(bot: SlackBot, caller: Caller) -> HomeFacts:
    """The facts from the bot's loaded index (the documents `caller` may see), its backend
    pool and the index folder."""
    from index.storage import current_generation

    state = bot.session.assistant.retriever.state
    seen = {s: r for s, r in state.files.items() if caller.may_see(r.collection)}
    files = sorted(seen.items())
    generation = current_generation(bot.settings.index.dir)
    return HomeFacts(
        documents=len(files),
        chunks=sum(len(record.chunk_ids) for record in seen.values()),
        titles=tuple(record.title or source for source, record in files[:TITLES_SHOWN]),
        collections=collection_sizes(seen),
        model=bot.pool.choice(bot.default_backend).label
        if bot.default_backend != "auto"
        else "auto",
        backends=tuple(c.name for c in bot.pool.choices if c.available),
        last_sync=generation.stat().st_mtime if generation else None,
    )


def recent_questions(
    bot: SlackBot, client: WebClient, team: str, user: str
) -> list[RecentQuestion]:
    """The user's latest questions in threads, each with its thread's permalink."""
    if bot.conversations is None:
        return []
    asked = bot.conversations.questions_asked_by(f"{team}/{user}", RECENT_SHOWN)
    return [
        RecentQuestion(q.question, _permalink(client, q.conversation_id), q.asked) for q in asked
    ]


def _permalink(client: WebClient, conversation_id: str) -> str | None:
    """`slack:TEAM/CHANNEL/THREAD` -> the thread's link, or None when Slack has none for us."""
    try:
        _, channel, thread_ts = conversation_id.removeprefix("slack:").split("/")
        link = client.chat_getPermalink(channel=channel, message_ts=thread_ts).get("permalink")
    except (ValueError, SlackApiError) as exc:
        log.info("slack: no link for %s: %s", conversation_id, exc)
        return None
    return str(link) if link else None


def _short(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word, escaped for mrkdwn (and for a
    link's label, where `|` would end the label)."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1].rsplit(" ", 1)[0] + "…"
    return escape(line).replace("|", "¦")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never (run `kb ingest`)"
    return f"<!date^{int(stamp)}^{{date_short_pretty}} at {{time}}|{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(stamp))}>"


def _knowledge(facts: HomeFacts) -> str:
    shown = ", ".join(_short(title, 60) for title in facts.titles)
    more = facts.documents - len(facts.titles)
    lines = [
        f"*Documents:* {facts.documents} ({facts.chunks} passages)",
        f"{shown}{f' and {more} more' if more > 0 else ''}" if shown else "_none yet_",
        "*Collections:* "
        + ", ".join(f"{escape(n)} ({c})" for n, c in sorted(facts.collections.items())),
        f"*Model:* {escape(facts.model)}",
        "*Backends:* " + ", ".join(f"`{escape(b)}`" for b in facts.backends),
        f"*Last sync:* {_when(facts.last_sync)}",
    ]
    return "\n".join(lines)


def _recent(questions: Sequence[RecentQuestion]) -> str:
    if not questions:
        return "*Your recent questions*\n_None yet: mention me in a channel to ask one._"
    lines = [
        f"• <{q.link}|{_short(q.question, 150)}>" if q.link else f"• {_short(q.question, 150)}"
        for q in questions
    ]
    return "*Your recent questions*\n" + "\n".join(lines)


def home_view(facts: HomeFacts, recent: Sequence[RecentQuestion]) -> dict[str, Any]:
    """The Home tab as a `views.publish` view."""
    return {
        "type": "home",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "kb: answers from your documents"},
            },
            _section(_knowledge(facts)),
            {"type": "divider"},
            _section(HOW_TO),
            {"type": "divider"},
            _section(_recent(recent)),
        ],
    }


def publish_home(bot: SlackBot, client: WebClient, team: str, user: str) -> None:
    """Build and publish `user`'s Home tab."""
    caller = bot.grants.caller(team, user, "", direct=True)  # the Home tab shows a DM's scope
    view = home_view(gather_facts(bot, caller), recent_questions(bot, client, team, user))
    client.views_publish(user_id=user, view=view)
