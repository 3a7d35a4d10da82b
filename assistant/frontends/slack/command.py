"""`/kb QUESTION`: an answer in the channel where it was typed, visible to everyone, or only to
the asker with `/kb -p QUESTION`.

Slack wants the command acknowledged within 3 seconds, so the ack is at once (a "searching"
note only the asker sees), and the answer follows through the command's `response_url`, which
works in any channel, the bot a member or not. A slash answer has no thread: it uses the
bot's default backend and no history.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from assistant.answering.models import Answer
from assistant.frontends.slack import render
from assistant.session import Scope
from assistant.telemetry.metrics import observe_answer

if TYPE_CHECKING:
    from assistant.frontends.slack.bot import SlackBot

log = logging.getLogger(__name__)

_PRIVATE = re.compile(r"^\s*(?:-p|--private)(?:\s+|$)", re.IGNORECASE)
USAGE = (
    "Ask me about the documents: `/kb QUESTION` answers here for everyone, "
    "`/kb -p QUESTION` only for you."
)


@dataclass(frozen=True)
class SlashQuestion:
    """What `/kb` was given: the question, and whether only the asker sees the answer."""

    question: str
    private: bool

    @classmethod
    def parse(cls, text: str) -> SlashQuestion:
        private = bool(_PRIVATE.match(text))
        return cls(" ".join(_PRIVATE.sub("", text, count=1).split()), private)

    @property
    def response_type(self) -> str:
        return "ephemeral" if self.private else "in_channel"


def register_command(app: App, bot: SlackBot, name: str = "/kb") -> None:
    """Answer `name` (the manifest's slash command) with `bot`'s assistant."""

    @app.command(name)
    def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        asked = SlashQuestion.parse(command.get("text", ""))
        if not asked.question or asked.question.lower() == "help":
            ack(response_type="ephemeral", text=USAGE)
        elif not bot.limiter.allow(command.get("user_id", "")):
            ack(response_type="ephemeral", text=render.TOO_FAST)
        else:
            ack(
                response_type="ephemeral",
                text=f"_Searching the documents for_ “{render.escape(asked.question)}”…",
            )
            answer_command(bot, asked, command.get("user_id", ""), respond)


def answer_command(
    bot: SlackBot, asked: SlashQuestion, user: str, respond: Callable[..., Any]
) -> None:
    """Answer, then post through the response URL; on failure, an apology only the asker sees."""
    try:
        answer = _answer(bot, asked.question)
    except Exception as exc:  # the asker gets an apology, the log the detail
        log.exception("slack: /kb failed")
        respond(response_type="ephemeral", replace_original=False, text=render.apology(exc))
        return
    feedback_id = bot.session.remember(answer, source="slack-command")
    asked_line = {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": f"<@{user}> asked: “{render.escape(asked.question)}”"}
        ],
    }
    respond(
        response_type=asked.response_type,
        replace_original=False,
        text=render.fallback_text(answer),
        blocks=[asked_line, *render.answer_blocks(answer, feedback_id)],
    )


def _answer(bot: SlackBot, question: str) -> Answer:
    answer = bot.session.answering(Scope(bot.default_backend)).ask(question, [])
    observe_answer(answer)
    return answer
