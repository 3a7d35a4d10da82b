"""Audit records as files for other tools: JSON Lines as stored, or CSV with flat columns.

CSV flattens nested fields into dotted columns (`route.why`, `timings.total_s`,
`tokens.prompt_tokens`), joins lists with `;` and the passages as `file#chunk_id@sha256`
separated by `; `. A text cell that a spreadsheet would run as a formula (starting with `=`,
`+`, `-` or `@`) is led by `'`: a question is data, never a formula. This module formats; it
does not read the log or write files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

FIRST_COLUMNS = (
    "id",
    "time",
    "surface",
    "caller",
    "scope",
    "question",
    "question_sha256",
    "refused",
    "backend",
    "model",
    "gguf_sha256",
    "generation",
    "passages",
)
LAST_COLUMNS = ("prev", "hash")
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    """One record a line, as the log stores them (their hashes still check)."""
    return "".join(
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        for r in records
    )


def _passages(value: list[Any]) -> str:
    return "; ".join(
        f"{p.get('file')}#{p.get('chunk_id')}@{p.get('file_sha256') or ''}"
        for p in value
        if isinstance(p, dict)
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_LEADS):
        return "'" + text
    return text


def flat(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A record as one row: nested dicts become dotted columns, lists joined."""
    row: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flat(value, f"{name}."))
        elif name == "passages" and isinstance(value, list):
            row[name] = _passages(value)
        else:
            row[name] = _cell(value)
    return row


def _columns(rows: list[dict[str, str]]) -> list[str]:
    """Known columns first, then any others in the order first seen, the chain last."""
    seen = dict.fromkeys(name for row in rows for name in row)
    middle = [name for name in seen if name not in FIRST_COLUMNS and name not in LAST_COLUMNS]
    return [*FIRST_COLUMNS, *middle, *LAST_COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """The records as CSV with a header row; a column a record lacks is left empty."""
    rows = [flat(record) for record in records]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
