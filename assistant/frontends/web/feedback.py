"""The page's 👍 and 👎 under each finished answer, kept in the feedback file with source "web".

Gradio's Chatbot draws the thumbs and keeps the chosen one highlighted; a click here records the
answer the first time one of its thumbs is clicked (an answer nobody rates is not kept), then
the rating, and says so in a short notice. A thumb clicked off again takes the rating back.
After each new answer the thumbs chosen so far are set again: Gradio's own highlight does not
survive the chat re-rendering. Who rated: the login user, else this browser's id (as for saved conversations).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import gradio as gr

from assistant.errors import KbError
from assistant.feedback.store import FeedbackStore
from assistant.frontends.web.events import Conversation

log = logging.getLogger(__name__)

THANKS = {"up": "Thanks: your 👍 is saved.", "down": "Thanks: your 👎 is saved; it helps fix kb."}
ANONYMOUS = "browser:unknown"  # before the browser has sent its id


def rating_of(liked: bool | str) -> str | None:
    """Gradio's `LikeData.liked` as a rating: True 👍, False 👎, "" a thumb clicked off."""
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    return None


def rate_message(
    store: FeedbackStore, convo: Conversation, index: Any, liked: bool | str, user: str | None
) -> Conversation:
    """Keep `user`'s rating of the answer at chat message `index`; a message that is no
    finished answer (an error, a busy notice) cannot be rated."""
    turn = convo.answer_at.get(index if isinstance(index, int) else -1)
    if turn is None:
        gr.Warning("Only kb's finished answers can be rated.")
        return convo
    rating, who = rating_of(liked), user or ANONYMOUS
    try:
        answer_id = _recorded(store, convo, turn)
        if rating is None:
            store.unrate(answer_id, who)
            convo.thumbs.pop(index, None)
            gr.Info("Your rating is taken back.")
        else:
            store.rate(answer_id, rating, who)
            convo.thumbs[index] = "Like" if rating == "up" else "Dislike"
            gr.Info(THANKS[rating])
    except (KbError, sqlite3.Error) as exc:
        log.warning("could not save a rating in %s: %s", store.path, exc)
        gr.Warning(f"Your rating was not saved: {exc}")
    return convo


def thumbs_shown(chat: list[Any], convo: Conversation) -> Any:
    """The chat's thumbs as chosen in this tab, one per assistant message: Gradio forgets the
    highlight when the next answer re-renders the chat."""
    values = [
        convo.thumbs.get(i)
        for i, message in enumerate(chat)
        if isinstance(message, dict) and message.get("role") == "assistant"
    ]
    return gr.update(feedback_value=values)


def _recorded(store: FeedbackStore, convo: Conversation, turn: int) -> str:
    """The answer's id in the feedback file, recorded on its first rating."""
    if turn not in convo.rated_ids:
        history = convo.history[: 2 * turn]  # the turns before it: two messages each
        answer = convo.answers[turn]
        convo.rated_ids[turn] = store.record_answer(answer, source="web", history=history)
    return convo.rated_ids[turn]
