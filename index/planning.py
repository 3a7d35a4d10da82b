"""Planning an incremental ingest: which discovered files to read, which are unchanged, which
indexed ones are gone. Reading, embedding and saving are `index.builder`'s.

A file is unchanged without reading a byte when one `os.stat` finds the size and modification
time recorded when it was last read (and it keeps its place and cleaning rules): at 10^5 files
a batch of `kb watch` then hashes only what changed. Otherwise it is hashed, and read again
only when the sha256 differs; a file touched but not changed gets its new time in
`IngestPlan.refreshed`, written with the next generation an ingest saves anyway.
Markers (`.kb-collection`, `.kb-local-only`) are looked up once per folder per plan.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.config import IndexConfig
from index.hashing import file_sha256
from index.models import DEFAULT_COLLECTION
from index.storage import FileRecord, IndexState
from ingest.discovery import is_local_only, marked_collection, source_name
from ingest.furniture import VERSION as CLEANING_VERSION

# A file rewritten within its file system's timestamp granularity after kb read it keeps the
# time kb recorded, so a same-size rewrite would pass for unchanged. A time this recent is not
# recorded (the file is hashed next time), as git treats "racily clean" entries; 2 s is FAT's
# granularity, the coarsest in common use.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class FileToRead:
    """A file the ingest reads: new, changed, moved to another collection, or asked again."""

    path: Path
    source: str
    sha256: str
    local_only: bool  # under a `.kb-local-only` folder
    collection: str
    size: int
    mtime_ns: int | None  # None: too recent to trust (RACY_NS)


@dataclass
class IngestPlan:
    """What planning decided; `refreshed`: records of files touched but not changed, with the
    file's new size and time (the caller keeps them if it saves a generation anyway)."""

    to_read: list[FileToRead] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refreshed: dict[str, FileRecord] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class IngestChoices:
    """What one ingest was asked for, besides the paths and the index."""

    collection: str | None  # None: each file's marker, else the one it had, else `default`
    reindex: Collection[str]  # sources read again even when unchanged


def plan_ingest(
    state: IndexState | None,
    files: list[Path],
    folders: list[Path],
    config: IndexConfig,
    choices: IngestChoices,
) -> IngestPlan:
    """Sort the discovered `files` (and the indexed sources gone from `folders`) into a plan."""
    planner = _Planner(config, choices, state.files if state else {})
    for path in files:
        planner.add(path)
    planner.plan.removed = _gone(state, folders, files, config.base) if state else []
    return planner.plan


class FolderMarkers:
    """`.kb-local-only` and `.kb-collection` as `ingest.discovery` finds them, looked up once per
    folder: per file they cost a stat of every folder above it, at 10^5 files more than
    hashing small files does. For one plan only (markers may change between ingests)."""

    def __init__(self) -> None:
        self._folders: dict[Path, tuple[bool, str | None]] = {}

    def of(self, path: Path) -> tuple[bool, str | None]:
        """(under a `.kb-local-only`, the nearest `.kb-collection`'s name) for a file."""
        # discovery looks above the file's target; for a file that is no link, its folder's
        # (resolving every file would cost as much as the lookups saved)
        folder = path.resolve().parent if path.is_symlink() else path.parent
        if folder not in self._folders:
            self._folders[folder] = (is_local_only(path), marked_collection(path))
        return self._folders[folder]


@dataclass
class _Planner:
    """One plan in the making: each discovered file goes in as read, unchanged or failed."""

    config: IndexConfig
    choices: IngestChoices
    known: dict[str, FileRecord]
    plan: IngestPlan = field(default_factory=IngestPlan)
    markers: FolderMarkers = field(default_factory=FolderMarkers)

    def add(self, path: Path) -> None:
        """Plan one discovered file (a file that cannot be opened is failed, not fatal)."""
        source = source_name(path, self.config.base)
        try:
            reason = self._add(path, source, self.known.get(source))
        except OSError as exc:
            reason = f"cannot open: {exc.strerror or exc}"
        if reason:
            self.plan.failed.append((source, reason))

    def _add(self, path: Path, source: str, record: FileRecord | None) -> str | None:
        """Plan one file; returns why it is refused, or None."""
        stat = os.stat(path)
        if reason := _too_large(stat.st_size, self.config.max_file_mb):
            return reason
        local_only, collection = self._place(path, record)
        kept = record if record and source not in self.choices.reindex else None
        kept = kept if kept and _placed_as_before(kept, local_only, collection) else None
        if kept and _stat_matches(kept, stat):
            self.plan.unchanged.append(source)
            return None
        digest, mtime_ns = file_sha256(path), _trusted(stat)
        wanted = FileToRead(path, source, digest, local_only, collection, stat.st_size, mtime_ns)
        self._hashed(wanted, kept)
        return None

    def _hashed(self, wanted: FileToRead, kept: FileRecord | None) -> None:
        """Read a hashed file again unless its bytes are those `kept` records."""
        if kept and kept.sha256 == wanted.sha256:  # touched, not changed: hash it no more
            self.plan.unchanged.append(wanted.source)
            refreshed = replace(kept, size=wanted.size, mtime_ns=wanted.mtime_ns)
            self.plan.refreshed[wanted.source] = refreshed
        else:
            self.plan.to_read.append(wanted)

    def _place(self, path: Path, record: FileRecord | None) -> tuple[bool, str]:
        """(local only, collection): the ingest's collection, else the file's marker's, else
        the one it had, else `default`."""
        local_only, marked = self.markers.of(path)
        collection = self.choices.collection or marked
        return local_only, collection or (record.collection if record else DEFAULT_COLLECTION)


def _placed_as_before(record: FileRecord, local_only: bool, collection: str) -> bool:
    """Same place and cleaning rules as when read: all that "unchanged" asks besides the bytes."""
    return (record.local_only, record.collection, record.cleaning) == (
        local_only,
        collection,
        CLEANING_VERSION,
    )


def _stat_matches(record: FileRecord, stat: os.stat_result) -> bool:
    """Same size and time as when read. A record with no time (an index written before times
    were recorded, or a file too recent to trust) never matches: the file is hashed."""
    if record.mtime_ns is None:
        return False
    return (record.size, record.mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def _trusted(stat: os.stat_result) -> int | None:
    """The file's modification time, or None when too recent to record (RACY_NS)."""
    return stat.st_mtime_ns if time.time_ns() - stat.st_mtime_ns >= RACY_NS else None


def _too_large(size: int, max_file_mb: float | None) -> str | None:
    """Why a file of `size` bytes is refused (checked before it is read), or None."""
    megabytes = size / (1024 * 1024)
    if max_file_mb is None or megabytes <= max_file_mb:
        return None
    return (
        f"too large: {megabytes:.1f} MB, over the {max_file_mb:g} MB limit for one file; "
        "split it, or raise the limit (KB_INGEST__MAX_FILE_MB)"
    )


def _gone(state: IndexState, folders: list[Path], files: list[Path], base: Path) -> list[str]:
    """Indexed sources that lie in a scanned folder but were not found there now."""
    present = {source_name(f, base) for f in files}
    roots = [source_name(f, base).rstrip("/") + "/" for f in folders]
    return [
        src for src in state.files if src not in present and any(src.startswith(r) for r in roots)
    ]
