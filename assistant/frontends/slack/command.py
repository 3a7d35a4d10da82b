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

from assistant.access import Caller, narrow
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
            answer_command(bot, asked, command, respond)


def command_caller(bot: SlackBot, command: dict[str, Any]) -> Caller:
    """Who typed the command, with what its channel (a DM: its user) may see."""
    direct = command.get("channel_name") == "directmessage"
    team, user = command.get("team_id", ""), command.get("user_id", "")
    return bot.grants.caller(team, user, command.get("channel_id", ""), direct)


def answer_command(
    bot: SlackBot, asked: SlashQuestion, command: dict[str, Any], respond: Callable[..., Any]
) -> None:
    """Answer, then post through the response URL; on failure, an apology only the asker sees."""
    caller = command_caller(bot, command)
    try:
        scope = Scope(bot.default_backend, narrow(caller, ()))
        answer = bot.session.answering(scope).ask(asked.question, [])
        observe_answer(answer)
    except Exception as exc:  # the asker gets an apology, the log the detail
        log.exception("slack: /kb failed")
        respond(response_type="ephemeral", replace_original=False, text=render.apology(exc))
        return
    bot.session.audit(answer, caller, scope)
    feedback_id = bot.session.remember(answer, source="slack-command")
    user = command.get("user_id", "")
    asked_line = {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": f"<@{user}> asked: “{render.escape(asked.question)}”"}
        ],
    }
    blocks = render.answer_blocks(answer, feedback_id, caller.scope_line(scope.collections))
    respond(
        response_type=asked.response_type,
        replace_original=False,
        text=render.fallback_text(answer),
        blocks=[asked_line, *blocks],
    )
