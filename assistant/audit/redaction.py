"""What the audit log keeps of a record: no secret, and with `questions: hash` no question text.

Every string in a record goes through the redaction kb's logs use (URL credentials and the
values of secret-named variables in the environment and `.env`), then key-shaped words are
blanked whoever they belong to: a user may paste someone's API key into a question. Hashes
(`hash`, `prev`, `*sha256`) are left as they are: they are kb's own hex, never a secret. This
module changes values; it does not write anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from assistant.backends.routing import API_KEY
from assistant.log_redaction import redact

BLANK = "***"
QuestionMode = Literal["text", "hash"]


def question_sha256(question: str) -> str:
    """The sha256 (hex) of a question's UTF-8 text, as asked."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()


def clean_text(text: str, secrets: Sequence[str]) -> str:
    """`text` without URL credentials, the given secret values and key-shaped words."""
    return API_KEY.sub(BLANK, redact(text, list(secrets)))


def _kept_as_is(key: str) -> bool:
    return key in ("hash", "prev") or key.endswith("sha256")


def scrub(value: Any, secrets: Sequence[str]) -> Any:
    """`value` (a JSON-able tree) with every string cleaned of secrets; hashes kept."""
    if isinstance(value, str):
        return clean_text(value, secrets)
    if isinstance(value, dict):
        return {
            key: item if _kept_as_is(str(key)) else scrub(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


def private_copy(
    record: dict[str, Any], questions: QuestionMode, secrets: Sequence[str]
) -> dict[str, Any]:
    """The record as the log may keep it: cleaned of secrets, and with `questions="hash"` its
    question replaced by the question's sha256."""
    kept = dict(record)
    question = kept.get("question")
    if questions == "hash" and question is not None:
        kept.setdefault("question_sha256", question_sha256(str(question)))
        del kept["question"]
    return dict(scrub(kept, secrets))
