"""Secrets never reach a log line (issue 16, item 8): the filter kb puts on every root
handler rewrites what third-party loggers write too."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.log_redaction import RedactingFilter, redact_logs

KEY = "sk-test-abcdefghijklmnop"
PASSWORD = "hunter2-very-secret"


@pytest.fixture
def root_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[io.StringIO]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=only-in-the-dotenv-file\n")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for other in root.handlers:  # pytest's own handlers must not keep it for later tests
            other.filters = [f for f in other.filters if not isinstance(f, RedactingFilter)]


def test_urls_keys_and_dotenv_secrets_are_redacted_in_third_party_logs(
    root_output: io.StringIO,
) -> None:
    redact_logs()
    child = logging.getLogger("httpx._client")  # a child: the root logger's filters skip it
    child.debug("HTTP Request: POST http://kb:%s@127.0.0.1:9/v1/chat", PASSWORD)
    child.debug("Authorization: Bearer %s", KEY)
    logging.getLogger("slack").info("secret only-in-the-dotenv-file")
    text = root_output.getvalue()
    assert PASSWORD not in text and KEY not in text and "only-in-the-dotenv" not in text
    assert "http://***@127.0.0.1:9/v1/chat" in text and "Bearer ***" in text


def test_without_the_filter_the_secret_would_show(root_output: io.StringIO) -> None:
    logging.getLogger("httpx._client").debug("GET http://kb:%s@host/", PASSWORD)
    assert PASSWORD in root_output.getvalue()  # what the filter is there for


def test_a_traceback_that_quotes_a_url_is_redacted(root_output: io.StringIO) -> None:
    redact_logs()
    try:
        raise ConnectionError(f"cannot reach http://kb:{PASSWORD}@127.0.0.1:9/v1")
    except ConnectionError:
        logging.getLogger("openai").exception("request failed")
    assert PASSWORD not in root_output.getvalue() and "***@127.0.0.1" in root_output.getvalue()


def test_each_of_a_list_of_api_tokens_is_redacted(
    root_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_API__TOKENS", "first-api-token-1, second-api-token-2")
    redact_logs()
    logging.getLogger("kb.api").info("Bearer second-api-token-2 and first-api-token-1")
    text = root_output.getvalue()
    assert "api-token" not in text and text.count("***") == 2, text
