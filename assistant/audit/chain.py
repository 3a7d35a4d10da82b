"""The hash chain of the audit log: how a record is hashed, what a line must be to count as a
record, and the check of a whole log, line by line.

Each record carries `prev`, the hash of the record before it (`GENESIS` for the first), and
`hash`, the sha256 of its own canonical JSON without `hash`. Editing a field breaks that
record's hash; removing, inserting or reordering a record breaks the next one's `prev`. A line
that is not a record at all (a crash mid-write left half of one) is skipped and reported as a
warning: the chain goes on from the last whole record, so a torn line that hid a real record is
caught by the next record's `prev`. This module reads bytes it is given; it does not open,
lock or write files (`assistant.audit.log`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENESIS = "0" * 64  # the `prev` of the very first record
EDITED = "edited: hash mismatch"
BROKEN_LINK = "removed or reordered: prev does not match"
TORN = "torn line (crash mid-write) skipped"
NO_ANCHOR = "anchor not found: the log was rewritten, or cut before that record"


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash is taken over: its JSON without `hash`, keys sorted, compact."""
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """The sha256 (hex) a record's `hash` field must hold."""
    return hashlib.sha256(canonical(record)).hexdigest()


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """The record on one line (without its newline), or None when the line is not one: not
    UTF-8, not a JSON object, or without string `hash` and `prev` (a torn write)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    if not (isinstance(value.get("hash"), str) and isinstance(value.get("prev"), str)):
        return None
    return value


@dataclass(frozen=True)
class Place:
    """Where a line is: its file and line number (from 1)."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file.name} line {self.line}"


@dataclass
class AuditCheck:
    """What `verify` found: whether the chain holds, how much it checked, the first broken
    record (where, its id, why) and the torn lines it skipped."""

    ok: bool = True
    records: int = 0
    files: int = 0
    place: Place | None = None  # the first broken record
    record_id: str | None = None
    why: str | None = None
    warnings: list[str] = field(default_factory=list)
    last_hash: str = GENESIS  # the last good record's hash: keep a copy elsewhere to anchor

    @property
    def problem(self) -> str | None:
        """The first broken record in one sentence, or None when the chain holds."""
        if self.ok:
            return None
        where = f"{self.place} " if self.place else ""
        named = f"(id {self.record_id}) " if self.record_id else ""
        return f"{where}{named}{self.why}".strip()


class ChainChecker:
    """Walks the lines of the log in order, checking each record against the one before."""

    def __init__(self) -> None:
        self.check = AuditCheck()
        self._torn_since_last = False
        self._seen: set[str] = set()

    def feed(self, place: Place, raw: bytes) -> bool:
        """Check one line; False once the chain is broken (stop reading)."""
        record = parse_line(raw)
        if record is None:
            self.check.warnings.append(f"{place}: {TORN}")
            self._torn_since_last = True
            return True
        if record_hash(record) != record["hash"]:
            return self._fail(place, record, EDITED)
        if record["prev"] != self.check.last_hash:
            after = " (after a torn line)" if self._torn_since_last else ""
            return self._fail(place, record, BROKEN_LINK + after)
        self.check.records += 1
        self.check.last_hash = record["hash"]
        self._seen.add(record["hash"])
        self._torn_since_last = False
        return True

    def anchored(self, anchor: str) -> bool:
        """Whether a hash kept elsewhere earlier is still in the chain."""
        return anchor in self._seen

    def _fail(self, place: Place, record: dict[str, Any], why: str) -> bool:
        self.check.ok = False
        self.check.place = place
        self.check.record_id = str(record.get("id")) if record.get("id") is not None else None
        self.check.why = why
        return False


def check_chain(lines: Iterable[tuple[Place, bytes]], anchor: str | None = None) -> AuditCheck:
    """Check every line in order (stopping at the first broken record); with `anchor`, also
    that a record with that hash is still in the chain."""
    checker = ChainChecker()
    for place, raw in lines:
        if not checker.feed(place, raw):
            break
    check = checker.check
    if check.ok and anchor and not checker.anchored(anchor):
        check.ok, check.why = False, NO_ANCHOR
    return check
