"""👍 and 👎 under an answer: a click is stored with the answer it rates (question, answer,
passages, backend: kept by `FeedbackStore.record_answer` when the answer was posted, its id
the buttons' value), acknowledged at once (Slack wants it within 3 seconds), then thanked with
a note only the clicker sees."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from assistant.errors import KbError

if TYPE_CHECKING:
    from assistant.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

RATINGS = {"kb_feedback_up": "up", "kb_feedback_down": "down"}
THANKS = {"up": "Thanks: 👍 noted.", "down": "Thanks: 👎 noted; the team will look at this answer."}


def register_feedback(app: App, store: FeedbackStore) -> None:
    """Record both buttons' clicks in `store`."""

    def on_click(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        rating = RATINGS[action["action_id"]]
        user = f"{body.get('team', {}).get('id', '')}/{body.get('user', {}).get('id', '')}"
        try:
            store.rate(action.get("value", ""), rating, user)
        except KbError as exc:
            log.warning("slack: feedback not stored: %s", exc)
            respond(response_type="ephemeral", replace_original=False, text=f"Not stored: {exc}")
            return
        respond(response_type="ephemeral", replace_original=False, text=THANKS[rating])

    for action_id in RATINGS:
        app.action(action_id)(on_click)
