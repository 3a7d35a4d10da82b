"""`KB_LOG__FORMAT=json`: one JSON object per log line, for log collectors that parse fields.

Only the formatter changes: the entry point's handlers, and the `RedactingFilter` that
`log_redaction.redact_logs()` put on them, stay. A handler filters a record before its
formatter sees it, so a JSON line carries the same redacted message and traceback as a text
line would. This module does not choose handlers, levels or destinations.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """A record as `{"time", "level", "logger", "message"[, "exc_info"]}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's fields as one JSON object; newlines in them are escaped by JSON."""
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # already redacted by the handler's filter
            line["exc_info"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def use_log_format(log_format: LogFormat) -> None:
    """Give every root handler the formatter for `log_format`; "text" leaves them as they are
    (the entry point's own format)."""
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
