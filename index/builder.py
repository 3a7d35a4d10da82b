"""Incremental index builds: plan (index.planning), re-read what changed, embed, save atomically.

Unchanged files (same size and time, else same sha256) are skipped without loading the
embedder; a changed file's chunks are replaced; a file gone from a scanned folder loses its
chunks; a file that cannot be read is reported and keeps whatever the index already had of it.

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
from index.lock import DEFAULT_WAIT_S, index_lock
from index.manifest import Manifest
from index.planning import FileToRead, IngestChoices, IngestPlan, plan_ingest
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
from ingest.discovery import discover
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


_FileRead = tuple[FileToRead, list[Chunk]]


def _read_all(plan: IngestPlan, config: IndexConfig, report: IngestReport) -> dict[str, _FileRead]:
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


def _chunk_meta(chunk: Chunk, wanted: FileToRead) -> dict[str, str]:
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
            wanted.mtime_ns,
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
    choices = IngestChoices(collection, reindex)
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
    choices: IngestChoices,
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
    plan = plan_ingest(state, files, folders, config, choices)
    report.failed += plan.failed
    report.unchanged += plan.unchanged
    if state:  # a touch alone saves nothing: new times go with a generation saved anyway
        state.files.update(plan.refreshed)
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
