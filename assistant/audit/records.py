"""What one answer's audit record holds: who asked from where, what was searched, the question
(or its sha256), the passages with their files' hashes and the index generation, the backend and
model (a local GGUF's sha256), the route and why, whether kb refused, timings and tokens.

The route's reasons are computed here as values, not parsed from kb's sentences: the kinds of
personal data in the question and passages (`sensitive_kinds`, what `auto` looks for), the
local-only documents among the passages, and whether a backend failed and another answered.
This module builds a dict; the log cleans it of secrets and writes it (`assistant.audit.log`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.access import Caller
from assistant.answering.models import Answer
from assistant.audit.fingerprint import model_fingerprint
from assistant.audit.redaction import QuestionMode, question_sha256
from assistant.backends.pool import is_local_only_refusal
from assistant.backends.routing import AUTO, sensitive_kinds
from index.models import Hit
from index.storage import FileRecord

__all__ = ["answer_record", "model_fingerprint"]  # what a session needs to record an answer

ANSWER = "answer"  # the record's `kind`


def _passage(hit: Hit, files: Mapping[str, FileRecord]) -> dict[str, Any]:
    source = hit.chunk.source
    known = files.get(source)
    return {
        "file": source,
        "chunk_id": hit.chunk.id,
        "file_sha256": known.sha256 if known else None,
    }


def local_only_sources(passages: Sequence[Hit], files: Mapping[str, FileRecord]) -> list[str]:
    """The passages' files marked local-only (by the chunk, or by the index's file record)."""
    marked = {
        hit.chunk.source
        for hit in passages
        if hit.chunk.meta.get("local_only")
        or (hit.chunk.source in files and files[hit.chunk.source].local_only)
    }
    return sorted(marked)


def personal_data(answer: Answer) -> list[str]:
    """The kinds of personal data in the question and the passages the model was given."""
    texts = [answer.question, answer.query, *(hit.chunk.text for hit in answer.passages)]
    kinds = sensitive_kinds("\n".join(text for text in texts if text))
    return kinds


def route_why(
    answer: Answer, mode: str | None, kinds: Sequence[str], local_only: Sequence[str]
) -> str:
    """Why the question went where it went, as one word or two: `local-only documents` (kept
    local or refused), `personal data` (auto kept it local), `fallback` (a backend failed),
    `auto` (auto found nothing to keep local) or `chosen` (the backend asked for by name)."""
    if is_local_only_refusal(answer.note):
        return "local-only documents"
    if mode == AUTO and kinds:
        return "personal data"
    if mode == AUTO and local_only:
        return "local-only documents"
    if answer.fell_back:
        return "fallback"
    return "auto" if mode == AUTO else "chosen"


def _route(
    answer: Answer, requested: str | None, files: Mapping[str, FileRecord]
) -> dict[str, Any]:
    # Only `auto` gives a reason (assistant/backends/pool.py): without `requested`, one means auto
    mode = requested or (AUTO if answer.route else None)
    kinds = personal_data(answer)
    local_only = local_only_sources(answer.passages, files)
    return {
        "mode": mode,
        "why": route_why(answer, mode, kinds, local_only),
        "reason": answer.route,
        "personal_data": kinds,
        "local_only": local_only,
        "fell_back": answer.fell_back,
    }


def answer_record(
    answer: Answer,
    caller: Caller,
    scope: Sequence[str],
    files: Mapping[str, FileRecord],
    generation: str | None,
    gguf_sha256: str | None,
    questions: QuestionMode,
    *,
    requested: str | None = None,
) -> dict[str, Any]:
    """The audit record of one answer (before the log adds id, time and the chain).

    `scope`: the collections searched (empty: all); `files`: the index's file records (for
    each passage's file sha256); `generation`: the index generation searched; `gguf_sha256`:
    the local model's (None for a hosted one, `model_fingerprint`); `requested`: the backend
    the question was asked with (a profile, `hosted` or `auto`; None: unknown)."""
    record: dict[str, Any] = {
        "kind": ANSWER,
        "surface": caller.surface,
        "caller": caller.name,
        "scope": list(scope),
        "question_sha256": question_sha256(answer.question),
        "generation": generation,
        "passages": [_passage(hit, files) for hit in answer.passages],
        "backend": answer.backend,
        "model": answer.model,
        "gguf_sha256": gguf_sha256,
        "server": answer.server,
        "route": _route(answer, requested, files),
        "refused": answer.refused,
        "note": answer.note,
        "timings": dict(answer.timings),
        "tokens": dict(answer.usage) if answer.usage else None,
    }
    if questions == "text":
        record["question"] = answer.question
    return record
