"""Incremental index builds: hash files, re-read only what changed, embed, save atomically.

Unchanged files are skipped without loading the embedder; a changed file's chunks are
replaced; a file gone from a scanned folder loses its chunks; a file that cannot be read is
reported and keeps whatever the index already had of it.

A file belongs to one collection: the one the ingest names, else the nearest
`.kb-collection` file's (its first line) in the file's folder or above, else the one it had,
else `default`; it is recorded on the file and on each chunk, which retrieval filters on.

One writer at a time per index folder: `ingest_paths` and `remove_sources` hold the folder's
writer lock (`index.lock`) for their whole run, waiting for another holder up to `lock_wait_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.config import IndexConfig
from index.embedders import Embedder
from index.hashing import file_sha256
from index.lock import DEFAULT_WAIT_S, index_lock
from index.manifest import Manifest
from index.models import DEFAULT_COLLECTION
from index.storage import (
    FileRecord,
    IndexState,
    index_exists,
    load_index,
    remove_stale,
    save_index,
    writing,
)
from index.windows import WindowParams, vector_ids, window_spans, with_context
from ingest.discovery import discover, is_local_only, marked_collection, source_name
from ingest.errors import IngestError
from ingest.furniture import VERSION as CLEANING_VERSION
from ingest.models import Chunk
from ingest.readers import read_document
from ingest.splitter import split_document

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest did with each file, for the caller to print."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    furniture: dict[str, int] = field(default_factory=dict)  # source -> lines left out as such
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the ingest added, updated or removed anything."""
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """One line of counts and time for the terminal."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed; "
            f"{self.chunks} chunks in the index; {self.seconds:.1f} s"
        )

    def furniture_summary(self) -> str | None:
        """A line on the page furniture left out of the files read, or None when there was none."""
        if not self.furniture:
            return None
        lines, files = sum(self.furniture.values()), len(self.furniture)
        return (
            f"left out {lines} lines of page furniture (ads, captions, buttons) from {files} "
            "files; see them with: kb docs show PATH --dropped"
        )


def _empty_state(embedder: Embedder, config: IndexConfig) -> IndexState:
    manifest = Manifest(embedder.id, embedder.dimension(), config.chunking.as_dict())
    return IndexState(manifest, config.store.create(embedder.dimension()))


def _gone(state: IndexState, folders: list[Path], files: list[Path], base: Path) -> list[str]:
    """Indexed sources that lie in a scanned folder but were not found there now."""
    present = {source_name(f, base) for f in files}
    roots = [source_name(f, base).rstrip("/") + "/" for f in folders]
    return [
        src for src in state.files if src not in present and any(src.startswith(r) for r in roots)
    ]


@dataclass(frozen=True)
class _ToRead:
    """A file the ingest reads: new, changed, moved to another collection, or asked again."""

    path: Path
    source: str
    sha256: str
    local_only: bool  # under a `.kb-local-only` folder
    collection: str
    size: int


@dataclass
class _Plan:
    to_read: list[_ToRead] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Choices:
    """What one ingest was asked for, besides the paths and the index."""

    collection: str | None  # None: each file's marker, else the one it had, else `default`
    reindex: Collection[str]  # sources read again even when unchanged


def _too_large(path: Path, max_file_mb: float | None) -> str | None:
    """Why a file is refused for its size (checked before it is read), or None."""
    megabytes = path.stat().st_size / (1024 * 1024)
    if max_file_mb is None or megabytes <= max_file_mb:
        return None
    return (
        f"too large: {megabytes:.1f} MB, over the {max_file_mb:g} MB limit for one file; "
        "split it, or raise the limit (KB_INGEST__MAX_FILE_MB)"
    )


def _plan(
    state: IndexState | None,
    files: list[Path],
    folders: list[Path],
    report: IngestReport,
    config: IndexConfig,
    choices: _Choices,
) -> _Plan:
    plan = _Plan()
    known = state.files if state else {}
    for path in files:
        source = source_name(path, config.base)
        try:
            if reason := _too_large(path, config.max_file_mb):
                report.failed.append((source, reason))
                continue
            digest, size = file_sha256(path), path.stat().st_size
        except OSError as exc:
            report.failed.append((source, f"cannot open: {exc.strerror or exc}"))
            continue
        record = known.get(source)
        collection = choices.collection or marked_collection(path)
        collection = collection or (record.collection if record else DEFAULT_COLLECTION)
        wanted = _ToRead(path, source, digest, is_local_only(path), collection, size)
        if record and source not in choices.reindex and _same(record, wanted):
            report.unchanged.append(source)
        else:
            plan.to_read.append(wanted)
    plan.removed = _gone(state, folders, files, config.base) if state else []
    return plan


def _same(record: FileRecord, wanted: _ToRead) -> bool:
    """Nothing to read again: same bytes and place, and cleaned by today's rules."""
    return (record.sha256, record.local_only, record.collection, record.cleaning) == (
        wanted.sha256,
        wanted.local_only,
        wanted.collection,
        CLEANING_VERSION,
    )


_FileRead = tuple[_ToRead, list[Chunk]]


def _read_all(plan: _Plan, config: IndexConfig, report: IngestReport) -> dict[str, _FileRead]:
    """source -> (what was read, its chunks) for every file that could be read and split."""
    results = {}
    if plan.to_read:
        log.info("reading %d new or changed files", len(plan.to_read))
    for wanted in tqdm(plan.to_read, desc="reading", unit="file", disable=None):
        source = wanted.source
        try:
            document = read_document(wanted.path, source, ocr=config.ocr)
            if document.dropped:
                report.furniture[source] = len(document.dropped)
            chunks = split_document(document, config.chunking)
            results[source] = (wanted, [replace(c, meta=_chunk_meta(c, wanted)) for c in chunks])
        except IngestError as exc:
            log.info("skipped %s", exc)  # the report carries it to the user, once
            report.failed.append((source, str(exc).removeprefix(f"{source}: ")))
    return results


def _chunk_meta(chunk: Chunk, wanted: _ToRead) -> dict[str, str]:
    """Recorded per chunk, as retrieval and routing see hits, not files."""
    meta = {**chunk.meta, "collection": wanted.collection}
    if wanted.local_only:
        meta["local_only"] = "true"
    return meta


def _embed(embedder: Embedder, texts: list[str], batch_size: int = 32) -> np.ndarray:
    batches = []
    if texts:
        log.info("embedding %d texts", len(texts))
    with tqdm(total=len(texts), desc="embedding", unit="text", disable=None) as bar:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            batches.append(embedder.embed(batch))
            bar.update(len(batch))
    return np.vstack(batches) if batches else np.zeros((0, embedder.dimension()), dtype=np.float32)


def _context(chunk: Chunk) -> str:
    return " > ".join(filter(None, [chunk.title, *chunk.heading_path]))


def embedding_text(chunk: Chunk) -> str:
    """Title and section give a chunk its context; the embedder sees them, the reader does not."""
    return with_context(_context(chunk), chunk.text)


def _vectors_to_add(
    chunks: list[Chunk], windows: WindowParams | None
) -> tuple[list[int], list[str], dict[int, int]]:
    """(vector ids, texts to embed, windows per chunk that has any)."""
    ids, texts, counts = [], [], {}
    for chunk in chunks:
        context = _context(chunk)
        spans = window_spans(context, chunk.text, windows) if windows else []
        extra = [with_context(context, chunk.text[a:b]) for a, b in spans]
        ids += vector_ids(chunk.id, len(extra))
        texts += [embedding_text(chunk), *extra]
        if extra:
            counts[chunk.id] = len(extra)
    return ids, texts, counts


def _drop(state: IndexState, sources: Iterable[str]) -> dict[str, FileRecord]:
    """Take `sources` out of the state: their chunks, vectors and windows; returns their
    records (None-free: a source the index does not hold is ignored)."""
    dropped = {}
    for source in sources:
        old = state.files.pop(source, None)
        if old:
            dropped[source] = old
            gone = [state.windows.pop(c, 0) for c in old.chunk_ids]
            ids = [v for c, n in zip(old.chunk_ids, gone, strict=True) for v in vector_ids(c, n)]
            state.store.remove(ids)
            for chunk_id in old.chunk_ids:
                state.chunks.pop(chunk_id, None)
    return dropped


def _apply(
    state: IndexState,
    read: dict[str, _FileRead],
    removed: list[str],
    embedder: Embedder,
    windows: WindowParams | None,
) -> None:
    before = _drop(state, removed + list(read))
    new_chunks = [c for _, chunks in read.values() for c in chunks]
    ids, texts, counts = _vectors_to_add(new_chunks, windows)
    state.store.add(ids, _embed(embedder, texts))
    state.windows.update(counts)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for source, (wanted, chunks) in read.items():
        state.chunks.update({c.id: c for c in chunks})
        old = before.get(source)
        state.files[source] = FileRecord(
            wanted.sha256,
            tuple(c.id for c in chunks),
            chunks[0].title if chunks else None,
            wanted.local_only,
            wanted.collection,
            wanted.size,
            old.added if old and old.added else now,
            CLEANING_VERSION,
        )


def _add_windows(state: IndexState, embedder: Embedder, windows: WindowParams | None) -> None:
    """Window vectors for the chunks of an index built before windows existed."""
    log.info("adding embedding windows to the %d chunks already in the index", len(state.chunks))
    ids, texts, counts = _vectors_to_add(list(state.chunks.values()), windows)
    extra = [(i, t) for i, t in zip(ids, texts, strict=True) if i not in state.chunks]
    if extra:
        state.store.add([i for i, _ in extra], _embed(embedder, [t for _, t in extra]))
    state.windows.update(counts)
    state.windowed = True


def ingest_paths(
    paths: list[Path],
    config: IndexConfig,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    lock_wait_s: float = DEFAULT_WAIT_S,
    collection: str | None = None,
    reindex: Collection[str] = (),
) -> IngestReport:
    """Bring the index `config` describes up to date with `paths`; see the module docstring.

    `rebuild` starts a new index; `collection` puts every file read into that collection;
    `reindex` names sources read again even when unchanged. Raises `IndexBusyError` when
    another writer still holds the index after `lock_wait_s`.
    """
    choices = _Choices(collection, reindex)
    started = time.perf_counter()
    with index_lock(config.dir, lock_wait_s):
        log.info("holding the writer lock of %s", config.dir)
        remove_stale(config.dir)
        with writing(config.dir) as died:
            report = _ingest_locked(paths, config, embedder, rebuild, choices, died)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_locked(
    paths: list[Path],
    config: IndexConfig,
    embedder: Embedder,
    rebuild: bool,
    choices: _Choices,
    sweep: bool,
) -> IngestReport:
    report = IngestReport()
    files, folders, problems = discover(paths, config.exclude, config.base)
    report.failed += problems
    state = None
    if index_exists(config.dir) and not rebuild:
        state = load_index(config.dir, config.store)
        state.manifest.check(embedder.id, config.chunking.as_dict())
        if sweep:
            _sweep(state)
    plan = _plan(state, files, folders, report, config, choices)
    read = _read_all(plan, config, report)
    for source in read:
        (report.updated if state and source in state.files else report.added).append(source)
    report.removed = plan.removed
    upgrade = bool(config.windows and state and not state.windowed)
    if report.changed or state is None or upgrade:
        state = state or _empty_state(embedder, config)
        if upgrade:
            _add_windows(state, embedder, config.windows)
        _apply(state, read, plan.removed, embedder, config.windows)
        state.manifest = state.manifest.touched(len(state.files), len(state.chunks))
        log.info("saving a new generation")
        save_index(config.dir, state)
    report.chunks = len(state.chunks)
    return report


def _sweep(state: IndexState) -> None:
    """Delete the vectors an interrupted writer added to the store that no generation uses."""
    keep = {v for c in state.chunks for v in vector_ids(c, state.windows.get(c, 0))}
    swept = state.store.sweep(keep)
    if swept:
        log.info("removed %d vectors an interrupted ingest had left in the store", swept)


def remove_sources(
    config: IndexConfig, sources: Collection[str], lock_wait_s: float = DEFAULT_WAIT_S
) -> IngestReport:
    """Take `sources` (as the index names them) out of the index: a new generation without
    their chunks, vectors and windows, switched like an ingest's. The files are not touched."""
    started = time.perf_counter()
    with index_lock(config.dir, lock_wait_s):
        remove_stale(config.dir)
        with writing(config.dir) as died:
            state = load_index(config.dir, config.store)
            if died:
                _sweep(state)
            report = IngestReport(removed=sorted(_drop(state, sources)))
            if report.removed:
                state.manifest = state.manifest.touched(len(state.files), len(state.chunks))
                save_index(config.dir, state)
        report.chunks = len(state.chunks)
    report.seconds = time.perf_counter() - started
    return report
