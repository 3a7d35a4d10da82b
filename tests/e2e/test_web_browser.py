"""The real page in headless Chromium: streamed answers, citations, backend switch, uploads.

The app runs as a subprocess on loopback with the real embedder and real GGUF models
(`tests/e2e/conftest.py`). The first test saves the README's screenshot.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

SCREENSHOT = ROOT / "docs" / "screenshot.png"
ANSWER_TIMEOUT_MS = 240_000
QUESTION = "What does vendor lock-in mean when you build on a proprietary LLM?"
FAST = "Local: SmolLM2-135M (fast, weak)"


def ask(page: Any, question: str) -> list[str]:
    """Type and send; return the assistant message's text as it was seen growing."""
    bots = page.locator("#kb-chat .message.bot, #kb-chat [data-testid='bot']")
    earlier = bots.count()  # a reopened conversation shows finished answers already
    page.fill("#kb-question textarea", question)
    page.press("#kb-question textarea", "Enter")
    bot = bots.last
    seen: list[str] = []
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        text = _shown(bot) if bots.count() > earlier else ""
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        if text and bot.locator("sub").count():  # the closing backend line: the answer is done
            final = _shown(bot)
            if final:
                return [*seen, final]
        time.sleep(0.1)
    raise AssertionError(f"no finished answer within {ANSWER_TIMEOUT_MS} ms; saw {seen[-1:]}")


def _shown(bot: Any) -> str:
    """The message's text; Gradio shows "Loading content" while it renders a message again
    (CI caught a finished answer read as just that)."""
    return str(bot.inner_text()).replace("Loading content", "").strip()


def test_answer_streams_and_a_citation_shows_its_highlighted_passage(page: Any) -> None:
    seen = ask(page, QUESTION)
    assert len(seen) >= 3, f"the answer did not stream: {seen}"
    assert "Qwen2.5-Coder-1.5B" in seen[-1]
    marker = page.locator("#kb-chat a[href^='#kb-src-0-']").first
    # Whether the reply cites is the model's choice (issue 31); a declined reply is replaced by
    # the cited evidence, so nearly always there is a marker. Without one the page lists the
    # nearest passages instead.
    if marker.count():
        _open_citation(page, marker)
    else:
        assert "(none cited)" in page.inner_text("#kb-sources")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def _open_citation(page: Any, marker: Any) -> None:
    """Click the citation: its card opens with the evidence highlighted, and the document opens
    at the cited span."""
    marker.click()
    card = page.locator(f"#{marker.get_attribute('href').lstrip('#')}")
    assert "kb-active" in (card.get_attribute("class") or "")
    evidence = card.locator("mark.kb-evidence")
    assert evidence.is_visible() and len(evidence.inner_text().split()) >= 3
    card.locator("a.kb-open").click()
    page.wait_for_selector("#kb-document #kb-doc-mark")
    marked = " ".join(page.inner_text("#kb-document #kb-doc-mark").split())
    assert marked and marked[:60] in " ".join(card.locator(".kb-passage").inner_text().split())


def test_backend_switch_is_per_tab(page: Any, browser: Any, app_url: str) -> None:
    page.get_by_label(FAST).check()
    page.wait_for_selector("#kb-status :text('SmolLM2')")
    other = browser.new_context().new_page()
    other.goto(app_url)
    other.wait_for_selector("#kb-status :text('Qwen2.5')")  # a new tab keeps the default
    assert "SmolLM2-135M-Instruct" in ask(page, "Why might a company prefer an open model?")[-1]
    assert "Qwen2.5-Coder-1.5B" in ask(other, "Why might a company prefer an open model?")[-1]
    hosted = page.get_by_label("Hosted: OpenAI", exact=False)
    assert "unavailable" in hosted.locator("xpath=..").inner_text() and hosted.is_disabled()
    other.context.close()


def test_uploaded_file_is_searchable_at_once(page: Any, tmp_path: Path) -> None:
    note = tmp_path / "quillon_council.md"
    note.write_text(
        "# Quillon council minutes\n\nThe Quillon council ratified the Zorblax protocol in "
        "March 2031. The Zorblax protocol requires every model release to publish its "
        "training data summary.\n"
    )
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is not a PDF")
    page.get_by_role("tab", name="Documents").click()
    page.fill("#kb-upload-collection input, #kb-upload-collection textarea", "minutes")
    page.set_input_files("#kb-upload input[type=file]", [str(note), str(broken)])
    report = page.locator("#kb-upload-report")
    report.locator(":text('chunks in the index')").wait_for(timeout=120_000)  # not the progress
    assert "quillon_council.md: added" in report.inner_text()
    assert "broken.pdf" in report.inner_text()
    _wait_for_table(page, "quillon_council.md")  # the table follows the upload
    assert "minutes" in page.inner_text("#kb-doc-table")
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label(FAST).check()  # the upload is under test, not the model: the fast one
    page.wait_for_selector("#kb-status :text('SmolLM2')")
    answer = ask(page, "What did the Quillon council ratify?")[-1]
    # The evidence quoted above the reply (or as it) is chosen from the passages before the
    # model writes: "Zorblax" is in the uploaded note alone. Which passage the reply cites is
    # the model's choice (issue 31).
    assert "Zorblax" in answer, answer
    _remove_in_documents_tab(page, "quillon")


def _wait_for_table(page: Any, text: str, present: bool = True) -> None:
    check = f"document.querySelector('#kb-doc-table').innerText.toLowerCase().includes({text.lower()!r})"
    page.wait_for_function(f"() => {'' if present else '!'}{check}", timeout=60_000)


def _remove_in_documents_tab(page: Any, search: str) -> None:
    """Search the table, pick what is left, Remove…, and confirm: the table and the status
    line lose it; nothing is removed before the confirmation."""
    page.get_by_role("tab", name="Documents").click()
    before = page.inner_text("#kb-status")
    page.fill("#kb-doc-search input, #kb-doc-search textarea", search)
    _wait_for_table(page, "corpus/", present=False)
    picker = page.locator("#kb-doc-selected input")
    picker.click()
    page.locator("#kb-doc-selected ul li, [role='listbox'] [role='option']").first.click()
    page.click("#kb-doc-remove")
    page.locator("#kb-doc-confirm-text :text('Remove 1 document')").wait_for()
    assert search in page.inner_text("#kb-doc-table").lower()  # asked, not yet done
    page.click("#kb-doc-remove-yes")
    page.locator("#kb-doc-report :text('removed')").wait_for(timeout=60_000)
    _wait_for_table(page, search, present=False)
    page.wait_for_function(f"() => document.querySelector('#kb-status').innerText !== {before!r}")


def test_api_answers_with_citations(app_url: str) -> None:
    from gradio_client import Client

    # The API's shape is under test, not the default model: the fast one answers, on a question
    # from eval/tune.jsonl (q09) that it answers from a passage. Its wording is not checked.
    question = "How do users typically access GPT-4?"
    reply = Client(app_url, verbose=False).predict(question, "local-small", api_name="/ask")
    assert reply["model"].startswith("SmolLM2") and reply["backend"] == "local-small"
    assert not reply["refused"] and reply["note"] is None, reply  # the model's answer, supported
    assert reply["citations"] and reply["answer"] and reply["timings"]["total_s"] > 0
    passages = reply["passages"]
    for cited in reply["citations"]:  # each names a passage it was given, under its number
        n = cited["n"]
        assert 1 <= n <= len(passages) and passages[n - 1]["source"] == cited["source"], cited
        assert f"[{n}]" in reply["answer"] and (ROOT / cited["source"]).is_file()


def test_a_hosted_backend_that_is_down_falls_back_visibly(page: Any) -> None:
    page.get_by_label("Hosted: lab server").check()
    page.wait_for_selector("#kb-status :text('hosted backends enabled')")
    final = ask(page, "Why might a company prefer an open model?")[-1]
    assert "lab failed (cannot reach lab" in final and "answered by local-small" in final
    assert "SmolLM2-135M-Instruct" in final  # the footer names who really answered
