"""Saved conversations in the real page, in headless Chromium: a question is listed in the
sidebar, the list survives a reload, the conversation opens, is renamed, exported and deleted
after a confirmation; another browser never sees it. Then the app, with a login, restarts
between two turns of the user's conversation and the follow-up resolves against the saved
history.

The app runs as a subprocess on loopback with the real embedder and SmolLM2-135M (fast) for
the answers (`tests/e2e/conftest.py`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import running_app
from tests.e2e.test_web_browser import ask

pytestmark = pytest.mark.e2e

FAST = "Local: SmolLM2-135M (fast, weak)"
QUESTION = "What does vendor lock-in mean when you build on a proprietary LLM?"
TIMEOUT_MS = 30_000


def _listed(page: Any) -> list[str]:
    return [label.inner_text().strip() for label in page.locator("#kb-conversations label").all()]


def _wait_listed(page: Any, titles: list[str]) -> None:
    page.wait_for_function(
        "want => JSON.stringify([...document.querySelectorAll('#kb-conversations label')]"
        ".map(l => l.innerText.trim())) === JSON.stringify(want)",
        arg=titles,
        timeout=TIMEOUT_MS,
    )


def test_sidebar_lists_opens_renames_exports_and_deletes(
    page: Any, browser: Any, app_url: str, tmp_path: Path
) -> None:
    page.get_by_label(FAST).check()
    page.wait_for_selector("#kb-status :text('SmolLM2')")
    answer = ask(page, QUESTION)[-1]
    _wait_listed(page, [QUESTION])

    page.reload()  # the browser keeps its id: the conversation is still listed
    page.wait_for_selector("#kb-status :text('documents')")
    _wait_listed(page, [QUESTION])
    page.locator("#kb-conversations label", has_text=QUESTION).click()
    page.wait_for_selector(f"#kb-chat :text('{QUESTION}')", timeout=TIMEOUT_MS)
    # the backend · model line (not the last line: Gradio may add "Loading content" below it)
    meta = next(line for line in answer.splitlines() if line.startswith("local-small · "))
    assert meta in page.locator("#kb-chat").inner_text()
    assert page.get_by_label(FAST).is_checked()  # the conversation's backend came back

    page.fill("#kb-conversation-title input", "Lock-in notes")
    page.click("#kb-rename")
    _wait_listed(page, ["Lock-in notes"])

    page.click("#kb-export")
    link = page.locator("#kb-export-file a").first
    link.wait_for(timeout=TIMEOUT_MS)
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("# Lock-in notes\n") and f"**Question:** {QUESTION}" in exported

    other = browser.new_context().new_page()  # another browser: its own, empty list
    other.goto(app_url)
    other.wait_for_selector("#kb-status :text('documents')")
    other.wait_for_timeout(1000)
    assert _listed(other) == []
    other.context.close()

    page.click("#kb-delete")
    page.click("#kb-delete-no")  # asked first; cancelling keeps it
    assert _listed(page) == ["Lock-in notes"]
    page.click("#kb-delete")
    page.click("#kb-delete-yes")
    _wait_listed(page, [])
    page.reload()
    page.wait_for_selector("#kb-status :text('documents')")
    page.wait_for_timeout(1000)
    assert _listed(page) == []


def _log_in(page: Any, url: str, user: str) -> None:
    page.goto(url)
    page.fill("input[name='username'], input[type='text']", user)
    page.fill("input[type='password']", "secret-pw")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kb-status :text('documents')", timeout=60_000)


def test_a_follow_up_after_a_restart_resolves(
    app_env: dict[str, str], browser: Any, tmp_path: Path
) -> None:
    database = tmp_path / "conversations.sqlite3"
    env = {
        **app_env,
        "KB_WEB__CONVERSATIONS_DB": str(database),
        "KB_WEB__USERNAME": "ann",
        "KB_WEB__PASSWORD": "secret-pw",
    }
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    with running_app(env, tmp_path / "first.log") as (url, _):
        _log_in(page, url, "ann")
        page.get_by_label(FAST).check()
        ask(page, QUESTION)
        _wait_listed(page, [QUESTION])
    with running_app(env, tmp_path / "second.log") as (url, _):  # restarted: a new process
        _log_in(page, url, "ann")
        _wait_listed(page, [QUESTION])
        page.locator("#kb-conversations label", has_text=QUESTION).click()
        page.wait_for_selector(f"#kb-chat :text('{QUESTION}')", timeout=TIMEOUT_MS)
        ask(page, "And how do teams avoid it?")
    context.close()
    rows = sqlite3.connect(database).execute("SELECT answer FROM turns ORDER BY position")
    follow_up = json.loads(rows.fetchall()[1][0])
    assert follow_up["question"] == "And how do teams avoid it?"
    assert follow_up["query"] != follow_up["question"]  # condensed with the saved first turn
