"""The documents behind a running assistant: add uploaded files, list, remove and re-index
documents, count them, and show a source.

Used by long-running frontends (the web page): an upload is copied into the upload folder,
ingested incrementally, and the assistant's retriever is swapped for one over the new index,
so the file is searchable at once. Ingests are serialised, within the process by a thread
lock and with other processes (`kb ingest`) by the index's writer lock, which an upload waits
for up to a minute before it fails; answering goes on meanwhile with the previous retriever.

It decides what an upload may hold (`UploadLimits`), before anything is written: a file of an
unsupported type or over the size limit is refused and the others go in; a batch of too many
files is refused whole. Whatever name a browser sends, the copy lands directly in the upload
folder, never through a link, and never over another file: a name that is taken gets a number
("notes (2).md"), unless the file there has the same content (then it is the same upload).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.access import Caller
from assistant.answering.pipeline import Assistant
from assistant.documents.catalog import (
    DocumentRow,
    UnknownSourceError,
    collection_sizes,
    document_rows,
    matching_sources,
    remove_documents,
)
from assistant.errors import KbError
from assistant.telemetry.metrics import observe_ingest
from index.builder import IngestReport, ingest_paths
from index.compaction import compact_in_background
from index.config import IndexConfig
from index.hashing import file_sha256
from index.storage import current_generation, load_index
from index.stores import VectorStore
from ingest.discovery import DEFAULT_MAX_FILE_MB
from ingest.readers import read_document, supported_suffixes

log = logging.getLogger(__name__)


FileProgress = Callable[[int, int, str], None]


class UploadRefusedError(KbError):
    """A whole upload was refused (too many files); nothing of it was written."""


MAX_UPLOAD_FILES = 20  # a bigger batch is refused whole


@dataclass(frozen=True)
class UploadLimits:
    """The largest file and the most files one upload may hold."""

    max_file_mb: float = DEFAULT_MAX_FILE_MB
    max_files: int = MAX_UPLOAD_FILES


@dataclass(frozen=True)
class LibraryStats:
    """How many documents and chunks the index holds."""

    documents: int
    chunks: int


_MAX_NAME_BYTES = 200  # file systems allow 255 bytes of UTF-8 in a name


def safe_file_name(name: str) -> str:
    """A plain file name from whatever a browser sent: no folders, no odd characters, not
    too long (the suffix is kept)."""
    stem = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\- ]+", "_", stem).strip(" .")
    if len(cleaned.encode()) > _MAX_NAME_BYTES:
        suffix = Path(cleaned).suffix[:10]
        room = _MAX_NAME_BYTES - len(suffix.encode())
        cleaned = cleaned.encode()[:room].decode(errors="ignore").rstrip(" .") + suffix
    return cleaned or "upload"


class DocumentLibrary:
    """The running assistant's documents: add uploads, count them, show a source's text."""

    def __init__(
        self,
        assistant: Assistant,
        config: IndexConfig,
        upload_dir: Path,
        limits: UploadLimits | None = None,
    ):
        self._assistant = assistant
        self._config = config  # sources are named relative to its `base`, kb's home
        self._upload_dir = upload_dir
        self.limits = limits or UploadLimits()
        self._replaced_store: VectorStore | None = None
        self._lock = threading.Lock()
        self._loaded = _current_name(config.dir)  # the generation the assistant searches

    def follow_index(self) -> bool:
        """Search the index's current generation when another process (`kb ingest`, `kb watch`,
        a second page sharing a Milvus server) switched it since this one loaded it; True when
        it reloaded. Costs one small file read per call. An upload or sync of this page that is
        running reloads when it ends, so the check is skipped meanwhile rather than waited on."""
        if _current_name(self._config.dir) == self._loaded or not self._lock.acquire(
            blocking=False
        ):
            return False
        try:
            switched = _current_name(self._config.dir) != self._loaded
            if switched:
                self._reload()
        finally:
            self._lock.release()
        if switched:
            log.info("index: now searching %s (switched by another process)", self._loaded)
        return switched

    @property
    def generation(self) -> str | None:
        """The index generation the assistant searches now (what the audit log records)."""
        return self._loaded

    def stats(self) -> LibraryStats:
        """The documents and chunks in the index the assistant searches now."""
        state = self._assistant.retriever.state
        return LibraryStats(len(state.files), len(state.chunks))

    def rows(self, search: str = "") -> list[DocumentRow]:
        """The documents the assistant searches now; `search`: only those whose path, title or
        collection holds it (any case)."""
        needle = search.strip().lower()
        return [
            row
            for row in document_rows(self._assistant.retriever.state.files)
            if needle in f"{row.path} {row.title or ''} {row.collection}".lower()
        ]

    def collections(self) -> list[str]:
        """The collections the index has, by name."""
        return list(collection_sizes(self._assistant.retriever.state.files))

    def remove(self, patterns: list[str]) -> IngestReport:
        """Take the documents `patterns` name out of the index (and an upload's copy off disk);
        the assistant searches without them at once."""
        with self._lock:
            sources = matching_sources(
                self._assistant.retriever.state.files, patterns, self._config.base
            )
            report = remove_documents(self._config, sources, self._upload_dir)
            if report.removed:
                self._reload()
                compact_in_background(self._config)
        log.info("remove: %s", report.summary())
        return report

    def reindex(self, patterns: list[str]) -> IngestReport:
        """Read the documents `patterns` name again from their files, changed or not."""
        with self._lock:
            sources = matching_sources(
                self._assistant.retriever.state.files, patterns, self._config.base
            )
            try:
                report = self._ingest([self._config.base / s for s in sources], reindex=sources)
            finally:  # whatever was saved before a failure is searchable too
                self._reload()
        log.info("re-index: %s", report.summary())
        return report

    def sync(self, paths: list[Path]) -> IngestReport:
        """Bring the index up to date with `paths` (adds, changes, removals), as `kb ingest`
        does, and search the result at once."""
        with self._lock:
            report = self._ingest(paths)
            if report.changed:
                self._reload()
        return report

    def _ingest(
        self, paths: list[Path], collection: str | None = None, reindex: Iterable[str] = ()
    ) -> IngestReport:
        """Ingest `paths` into the index with the page's settings (the caller holds the thread
        lock and reloads)."""
        report = ingest_paths(
            paths,
            self._config,
            self._assistant.embedder,
            collection=collection,
            reindex=set(reindex),
        )
        observe_ingest(report)
        if report.changed:  # the search graph's work, if any, without keeping the page waiting
            compact_in_background(self._config)
        return report

    def add_files(
        self,
        files: Iterable[tuple[Path, str]],
        on_file: FileProgress | None = None,
        collection: str | None = None,
    ) -> IngestReport:
        """Copy (temporary path, original name) pairs into the upload folder and ingest them
        one by one, calling `on_file(done, total, name)` before each. A refused file is in
        the report's `failed` and was not copied; too many files raise `UploadRefusedError`.
        `collection`: the one they go into (None: as `kb ingest` decides)."""
        accepted, refused = self._check(list(files))
        report = IngestReport(failed=refused, chunks=self.stats().chunks)
        with self._lock:  # copies too: two uploads of one name must not write one file
            targets = self._copy_in(accepted)
            try:
                for done, target in enumerate(targets):
                    if on_file:
                        on_file(done, len(targets), target.name)
                    _merge(report, self._ingest([target], collection))
            finally:  # files ingested before a failure (e.g. a busy index) are searchable too
                if report.changed:
                    self._reload()
        log.info("upload: %s", report.summary())
        return report

    def _check(
        self, files: list[tuple[Path, str]]
    ) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
        """(files to take, (name, reason) for each refused file); too many refuse them all."""
        limits = self.limits
        if len(files) > limits.max_files:
            raise UploadRefusedError(
                f"{len(files)} files in one upload, over the limit of {limits.max_files}: "
                f"nothing was added; upload at most {limits.max_files} at a time"
            )
        accepted, refused = [], []
        for path, name in files:
            safe = safe_file_name(name)
            if Path(safe).suffix.lower() not in supported_suffixes():
                refused.append((safe, f"unsupported type; use {', '.join(accepted_suffixes())}"))
            elif path.stat().st_size > limits.max_file_mb * 1024 * 1024:
                refused.append((safe, f"larger than {limits.max_file_mb:g} MB"))
            else:
                accepted.append((path, safe))
        return accepted, refused

    def _copy_in(self, files: list[tuple[Path, str]]) -> list[Path]:
        """Copy each file in under its own name; a name another file already has gets a
        number ("notes (2).md"): an upload never replaces someone else's file. The same
        content under the same name is the same file, not copied again."""
        self._upload_dir.mkdir(parents=True, exist_ok=True)
        return [self._copy_one(path, safe) for path, safe in files]

    def _copy_one(self, path: Path, safe: str) -> Path:
        digest = file_sha256(path)
        for number in range(1, _MAX_SAME_NAME + 1):
            target = self._upload_dir / _numbered(safe, number)
            if target.is_symlink():  # replace the link itself, never write where it points
                target.unlink(missing_ok=True)
            try:
                _copy_new(path, target)
            except FileExistsError:
                if not target.is_symlink() and file_sha256(target) == digest:
                    return target  # uploaded before: ingest finds it unchanged
                continue
            if number > 1:
                log.info("upload: %s is taken by another file; saved as %s", safe, target.name)
            return target
        raise UploadRefusedError(f"{_MAX_SAME_NAME} files are already named like {safe}")

    def _reload(self) -> None:
        self._loaded = _current_name(self._config.dir)  # read first: a later switch reloads again
        state = load_index(self._config.dir, self._config.store)
        old = self._assistant.retriever.state.store
        self._assistant.retriever = self._assistant.retriever.reloaded(state)
        # Close the store replaced one reload ago: answers still running on the one just
        # replaced keep it; a Milvus client per reload would otherwise pile up.
        if self._replaced_store is not None and self._replaced_store is not state.store:
            self._replaced_store.close()
        self._replaced_store = old

    def check_visible(self, source: str, caller: Caller) -> None:
        """An `UnknownSourceError` unless `source` is indexed in a collection `caller` may see
        (the same error either way: a caller learns nothing of what it may not see)."""
        record = self._assistant.retriever.state.files.get(source)
        if record is None or not caller.may_see(record.collection):
            raise UnknownSourceError(f"{source} is not in the index")

    def document_text(self, source: str) -> tuple[str | None, str]:
        """(title, cleaned text) of an indexed source, read again from its file."""
        if source not in self._assistant.retriever.state.files:
            raise UnknownSourceError(f"{source} is not in the index")
        document = read_document(self._config.base / source, source, ocr=self._config.ocr)
        return document.title, document.text


_MAX_SAME_NAME = 1000


def _numbered(name: str, number: int) -> str:
    if number == 1:
        return name
    path = Path(name)
    return f"{path.stem} ({number}){path.suffix}"


def _copy_new(source: Path, target: Path) -> None:
    """Copy into a file that must not exist yet, never following a link at `target` (no
    check-then-copy window: `O_EXCL | O_NOFOLLOW` is one step)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    out = os.fdopen(os.open(target, flags, 0o644), "wb")
    try:
        with out, open(source, "rb") as data:
            shutil.copyfileobj(data, out)
    except BaseException:
        target.unlink(missing_ok=True)  # no half copy under a name that looks complete
        raise


def _merge(total: IngestReport, one: IngestReport) -> None:
    total.added += one.added
    total.updated += one.updated
    total.unchanged += one.unchanged
    total.failed += one.failed
    total.chunks = one.chunks
    total.seconds += one.seconds


def accepted_suffixes() -> list[str]:
    """The file suffixes an upload may have, sorted."""
    return sorted(supported_suffixes())


def _current_name(index_dir: Path) -> str | None:
    generation = current_generation(index_dir)
    return generation.name if generation else None
