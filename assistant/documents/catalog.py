"""The documents an index holds: listed, found by path or pattern, and removed.

Shared by `kb docs` and the page's Documents tab. A document is named by its source, its path
from kb's home (`corpus/x.md`); a user may name it that way, by a path from the current
directory, by a folder (everything under it) or by a glob (`corpus/*.pdf`). Removing takes a
document out of the index (a new generation, like an ingest); its file is left alone, except
the copy the page made of an upload, which nothing else would ever remove.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.errors import KbError
from assistant.telemetry.metrics import observe_ingest
from index.builder import IngestReport, remove_sources
from index.config import IndexConfig
from index.lock import DEFAULT_WAIT_S
from index.storage import FileRecord
from ingest.discovery import source_name

log = logging.getLogger(__name__)


class UnknownSourceError(KbError):
    """A document that is not in the index was asked for."""


@dataclass(frozen=True)
class DocumentRow:
    """One document as `kb docs list` and the Documents tab show it."""

    path: str
    title: str | None
    collection: str
    chunks: int
    size: int | None
    sha256: str  # a prefix: enough to tell versions apart
    added: str | None
    local_only: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def document_rows(
    files: Mapping[str, FileRecord], collections: Collection[str] | None = None
) -> list[DocumentRow]:
    """The index's documents sorted by path, only those in `collections` when given."""
    return [
        DocumentRow(
            source,
            record.title,
            record.collection,
            len(record.chunk_ids),
            record.size,
            record.sha256[:12],
            record.added,
            record.local_only,
        )
        for source, record in sorted(files.items())
        if not collections or record.collection in collections
    ]


COLLECTION_NAME = re.compile(r"[\w.-]{1,64}")


def check_collection_name(name: str) -> str:
    """`name` if it can name a collection (letters, digits, `_`, `-`, `.`; 1 to 64), else
    `ValueError` saying so."""
    if not COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot name a collection: use letters, digits, _ - . (1-64)")
    return name


def collection_sizes(files: Mapping[str, FileRecord]) -> dict[str, int]:
    """Documents per collection, by name."""
    sizes: dict[str, int] = {}
    for record in files.values():
        sizes[record.collection] = sizes.get(record.collection, 0) + 1
    return dict(sorted(sizes.items()))


def check_scope(files: Mapping[str, FileRecord], collections: Collection[str] | None) -> None:
    """A scope naming a collection the index does not have is an error naming the ones it has
    (an empty scope would only ever refuse)."""
    sizes = collection_sizes(files)
    unknown = sorted(set(collections or ()) - set(sizes))
    if unknown:
        have = ", ".join(f"{name} ({n})" for name, n in sizes.items()) or "none"
        raise UnknownSourceError(
            f"no documents in collection {', '.join(unknown)}; the index has: {have}"
        )


def matching_sources(sources: Collection[str], patterns: list[str], home: Path) -> list[str]:
    """The indexed sources `patterns` name (see the module docstring), sorted; a pattern that
    names none raises `UnknownSourceError`, before anything changes."""
    found: set[str] = set()
    for pattern in patterns:
        matched = [source for source in sources if _matches(source, pattern, home)]
        if not matched:
            raise UnknownSourceError(
                f"no indexed document matches {pattern!r}; `kb docs list` shows them by path"
            )
        found.update(matched)
    return sorted(found)


def _matches(source: str, pattern: str, home: Path) -> bool:
    forms = {pattern.rstrip("/")}
    if not any(mark in pattern for mark in "*?["):  # a path: from the current directory
        forms.add(source_name(Path(pattern), home))
    return any(
        source == form or fnmatch.fnmatchcase(source, form) or source.startswith(form + "/")
        for form in forms
    )


def remove_documents(
    config: IndexConfig,
    sources: Collection[str],
    upload_dir: Path,
    lock_wait_s: float = DEFAULT_WAIT_S,
) -> IngestReport:
    """Take `sources` out of the index; then delete the page's copies of those uploaded."""
    report = remove_sources(config, sources, lock_wait_s)
    uploads = upload_dir.resolve()
    for source in report.removed:
        path = (config.base / source).resolve()
        if path.parent == uploads and path.is_file():
            path.unlink()
            log.info("removed the uploaded copy %s", path)
    observe_ingest(report)
    return report
