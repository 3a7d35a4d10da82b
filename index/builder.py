"""Incremental index builds: hash files, re-read only what changed, embed, save atomically.

Unchanged files are skipped without loading the embedder; a changed file's chunks are
replaced; a file gone from a scanned folder loses its chunks; a file that cannot be read is
reported and keeps whatever the index already had of it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.embedders import Embedder
from index.manifest import Manifest
from index.storage import FileRecord, IndexState, index_exists, load_index, save_index
from index.stores import StoreSpec
from ingest.errors import IngestError
from ingest.models import Chunk
from ingest.readers import read_document, supported_suffixes
from ingest.splitter import ChunkingParams, split_document

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed; "
            f"{self.chunks} chunks in the index; {self.seconds:.1f} s"
        )


def source_name(path: Path) -> str:
    """Path relative to the working directory when inside it (portable), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _excluded(path: Path, exclude: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in exclude)


def discover(paths: list[Path], exclude: Iterable[str]) -> tuple[list[Path], list[Path], list[str]]:
    """Return (supported files, scanned folders, missing paths)."""
    files: list[Path] = []
    folders: list[Path] = []
    missing: list[str] = []
    suffixes = supported_suffixes()
    for path in paths:
        if path.is_dir():
            folders.append(path)
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in suffixes
                and not _excluded(p, exclude)
                and not p.name.startswith(".")
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(str(path))
    return files, folders, missing


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _empty_state(embedder: Embedder, params: ChunkingParams, spec: StoreSpec) -> IndexState:
    manifest = Manifest(embedder.id, embedder.dimension, params.as_dict())
    return IndexState(manifest, spec.create(embedder.dimension))


def _gone(state: IndexState, folders: list[Path], files: list[Path]) -> list[str]:
    """Indexed sources that lie in a scanned folder but were not found there now."""
    present = {source_name(f) for f in files}
    roots = [source_name(f).rstrip("/") + "/" for f in folders]
    return [
        src for src in state.files if src not in present and any(src.startswith(r) for r in roots)
    ]


@dataclass
class _Plan:
    to_read: list[tuple[Path, str, str]] = field(default_factory=list)  # path, source, sha256
    removed: list[str] = field(default_factory=list)


def _plan(
    state: IndexState | None, files: list[Path], folders: list[Path], report: IngestReport
) -> _Plan:
    plan = _Plan()
    known = state.files if state else {}
    for path in files:
        source = source_name(path)
        try:
            digest = file_sha256(path)
        except OSError as exc:
            report.failed.append((source, f"cannot open: {exc.strerror or exc}"))
            continue
        if source in known and known[source].sha256 == digest:
            report.unchanged.append(source)
        else:
            plan.to_read.append((path, source, digest))
    plan.removed = _gone(state, folders, files) if state else []
    return plan


def _read_all(
    plan: _Plan, params: ChunkingParams, report: IngestReport
) -> dict[str, tuple[str, list[Chunk]]]:
    """source -> (sha256, chunks) for every file that could be read and split."""
    results = {}
    for path, source, digest in tqdm(plan.to_read, desc="reading", unit="file", disable=None):
        try:
            document = read_document(path, source)
            results[source] = (digest, split_document(document, params))
        except IngestError as exc:
            log.warning("skipped %s", exc)
            report.failed.append((source, str(exc).removeprefix(f"{source}: ")))
    return results


def _embed(embedder: Embedder, chunks: list[Chunk], batch_size: int = 32) -> np.ndarray:
    batches = []
    with tqdm(total=len(chunks), desc="embedding", unit="chunk", disable=None) as bar:
        for start in range(0, len(chunks), batch_size):
            batch = chunks[start : start + batch_size]
            batches.append(embedder.embed([_embedding_text(c) for c in batch]))
            bar.update(len(batch))
    return np.vstack(batches) if batches else np.zeros((0, embedder.dimension), dtype=np.float32)


def _embedding_text(chunk: Chunk) -> str:
    """Title and section give a chunk its context; the embedder sees them, the reader does not."""
    context = " > ".join(filter(None, [chunk.title, *chunk.heading_path]))
    return f"{context}\n{chunk.text}" if context else chunk.text


def _apply(
    state: IndexState,
    read: dict[str, tuple[str, list[Chunk]]],
    removed: list[str],
    embedder: Embedder,
    report: IngestReport,
) -> None:
    for source in removed + list(read):
        old = state.files.pop(source, None)
        if old:
            state.store.remove(list(old.chunk_ids))
            for chunk_id in old.chunk_ids:
                state.chunks.pop(chunk_id, None)
    new_chunks = [c for _, chunks in read.values() for c in chunks]
    state.store.add([c.id for c in new_chunks], _embed(embedder, new_chunks))
    for source, (digest, chunks) in read.items():
        state.chunks.update({c.id: c for c in chunks})
        title = chunks[0].title if chunks else None
        state.files[source] = FileRecord(digest, tuple(c.id for c in chunks), title)


def ingest_paths(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams,
    exclude: Iterable[str] = (),
    rebuild: bool = False,
    store: StoreSpec | None = None,
) -> IngestReport:
    """Bring the index at `index_dir` up to date with `paths`; see the module docstring.

    `store` picks the vector store of a new (or rebuilt) index; an existing one keeps its own.
    """
    spec = store or StoreSpec()
    started = time.perf_counter()
    report = IngestReport()
    files, folders, missing = discover(paths, exclude)
    report.failed += [(m, "no such file or folder") for m in missing]
    state = None
    if index_exists(index_dir) and not rebuild:
        state = load_index(index_dir, spec)
        state.manifest.check(embedder.id, params.as_dict())
    plan = _plan(state, files, folders, report)
    read = _read_all(plan, params, report)
    for source in read:
        (report.updated if state and source in state.files else report.added).append(source)
    report.removed = plan.removed
    if report.changed or state is None:
        state = state or _empty_state(embedder, params, spec)
        _apply(state, read, plan.removed, embedder, report)
        state.manifest = state.manifest.touched(len(state.files), len(state.chunks))
        save_index(index_dir, state)
    report.chunks = len(state.chunks)
    report.seconds = time.perf_counter() - started
    return report
