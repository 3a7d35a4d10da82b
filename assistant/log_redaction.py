"""Secrets never reach a log line, whoever writes it.

Third-party loggers (openai, httpx) print request URLs at DEBUG, and a base URL may carry
`user:password@`. Every entry point calls `redact_logs()` after configuring logging: a filter
on each root handler rewrites, in every record that reaches it, credentials in URLs and the
values of secret environment variables (keys, tokens, secrets, passwords) to `***`. A filter on
the handler, not the logger: records from child loggers skip their ancestors' filters.
"""

from __future__ import annotations

import logging
import os
import re

from dotenv import dotenv_values

from assistant.home import secrets_file

_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@]+@")
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^/\s@]+)@")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)S?$", re.I)
_MIN_SECRET = 8  # shorter values are too common to replace everywhere


def secret_values() -> list[str]:
    """Values of secret-named variables in the environment and in the home's `.env`, and the
    passwords in URLs any variable holds, longest first."""
    variables = {**dotenv_values(secrets_file()), **os.environ}
    values = {
        part  # a list of secrets (KB_API__TOKENS=a,b) hides each one, and the whole
        for name, v in variables.items()
        if v and _SECRET_NAME.search(name)
        for part in {v, *(piece.strip() for piece in v.split(","))}
        if len(part) >= _MIN_SECRET
    }
    # a password in a server's URL (KB_PROFILES__LAB__BASE_URL) is hidden wherever it shows
    passwords = {m for v in variables.values() if v for m in _URL_PASSWORD.findall(v)}
    values |= {password for password in passwords if len(password) >= _MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """`text` with URL credentials and each of `secrets` replaced by `***`."""
    text = _URL_CREDENTIALS.sub("***@", text)
    for value in secrets:
        text = text.replace(value, "***")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message without its secrets; never drops a record."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's message and traceback; always keep the record."""
        message = record.getMessage()
        clean = redact(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # tracebacks quote URLs too
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), [])
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        return True


def redact_logs() -> None:
    """Put the filter on every handler of the root logger (once each); call after the
    entry point configured logging, and after `.env` was read."""
    secrets = secret_values()
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(RedactingFilter(secrets))
