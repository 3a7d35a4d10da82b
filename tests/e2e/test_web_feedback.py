"""The page's 👎 in headless Chromium: ask, click the thumb under the finished answer, see it
stay highlighted with a thanks notice (also after the next answer), and find the row in the feedback file with the question,
the answer, the passages and the backend. Then `kb feedback export` turns it into an eval row.

The app runs as a subprocess on loopback with the real embedder and SmolLM2-135M (fast) for
the answers (`tests/e2e/conftest.py`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.feedback.export import disliked_rows
from assistant.feedback.store import FeedbackStore, RatedAnswer
from tests.e2e.test_web_browser import ask

pytestmark = pytest.mark.e2e

FAST = "Local: SmolLM2-135M (fast, weak)"
QUESTION = "Why do privacy rules push teams to run models on their own servers?"
TIMEOUT_MS = 30_000


def _disliked(path: Path, question: str) -> RatedAnswer:
    """The 👎 row of `question`, once the page's handler has written it."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if path.exists():
            found = [r for r in FeedbackStore(path).rated("down") if r.question == question]
            if found:
                return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no 👎 row for {question!r} in {path}")


def test_a_thumb_down_is_stored_with_question_answer_passages_and_backend(
    page: Any, app_env: dict[str, str]
) -> None:
    page.get_by_label(FAST).check()
    page.wait_for_selector("#kb-status :text('SmolLM2')")
    shown = ask(page, QUESTION)[-1]
    page.locator("#kb-chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector(":text('your 👎 is saved')", timeout=TIMEOUT_MS)
    assert page.locator("#kb-chat button[aria-label='Disliked']").count() == 1  # stays chosen
    ask(page, "And what about the costs?")  # the chat re-renders: the 👎 is still shown chosen
    page.wait_for_selector("#kb-chat button[aria-label='Disliked']", timeout=TIMEOUT_MS)
    assert page.locator("#kb-chat button[aria-label='Disliked']").count() == 1

    rated = _disliked(Path(app_env["KB_FEEDBACK__DB"]), QUESTION)
    assert rated.source == "web"
    # the stored answer is the one shown: its first word, as the page renders it (the model may
    # open with Markdown such as "**" or "- ", which the page turns into formatting)
    first_word = re.search(r"[^\W\d_]{2,}", rated.answer)
    assert first_word and first_word.group() in shown, (rated.answer, shown)
    assert rated.backend == "local-small" and "SmolLM2" in rated.model
    assert rated.passages and all(p.text and p.source for p in rated.passages)
    assert rated.downs == 1 and rated.history == ()
    [row] = disliked_rows([rated])
    assert row["question"] == QUESTION and row["kb_answer"] == rated.answer
