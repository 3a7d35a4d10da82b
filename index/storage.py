"""Index persistence: one folder per generation, switched atomically by a `CURRENT` pointer.

A generation (manifest.json, chunks.jsonl, files.json, windows.json, the store's files) is
written in full to a temporary folder, renamed into place, and only then made current by
`os.replace` of the pointer file; the folder is fsynced so the switch survives a power cut. A
crash at any moment leaves either the old index or the new one, never a mix; what the crashed
writer left behind (a staging folder, a generation never made current) is removed by the next
one.

Writing is not safe against another writer: callers hold `index.lock.index_lock` from loading
the generation they build on until `save_index` returns. Reading needs no lock: a reader reads
`CURRENT` once and loads that generation, and the generation a switch replaces (named in
`PREVIOUS`) is kept until the next switch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import IndexNotBuiltError
from index.manifest import Manifest
from index.models import DEFAULT_COLLECTION
from index.stores import StoreSpec, VectorStore, open_store
from ingest.models import Chunk

log = logging.getLogger(__name__)

POINTER = "CURRENT"
PREVIOUS = "PREVIOUS"  # the generation CURRENT replaced: kept until the next switch
WRITING = ".writing"  # an ingest is writing, or one died while writing (see `writing`)
_LOAD_ATTEMPTS = 5
WINDOWS_FILE = "windows.json"


@dataclass(frozen=True)
class FileRecord:
    """What the index knows of one ingested file."""

    sha256: str
    chunk_ids: tuple[int, ...]
    title: str | None = None
    local_only: bool = False  # under a `.kb-local-only` folder: never sent to a hosted model
    collection: str = DEFAULT_COLLECTION
    size: int | None = None  # bytes; None: indexed before sizes were recorded
    added: str | None = None  # ISO time it was first indexed; None: before that was recorded
    cleaning: str | None = None  # ingest.furniture.VERSION it was read with; None: before that
    mtime_ns: int | None = None  # st_mtime_ns when read; None: not recorded (then it is hashed)


@dataclass
class IndexState:
    """A loaded index: manifest, vector store, chunks and the files they came from."""

    manifest: Manifest
    store: VectorStore
    chunks: dict[int, Chunk] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    windows: dict[int, int] = field(default_factory=dict)  # chunk id -> extra window vectors
    windowed: bool = True  # False: loaded from a generation written before windows existed


def _chunk_to_json(chunk: Chunk) -> str:
    data = asdict(chunk)
    data["heading_path"] = list(chunk.heading_path)
    return json.dumps(data, ensure_ascii=False)


def _chunk_from_json(line: str) -> Chunk:
    """A chunk; the strings its document's other chunks repeat (source, title, headings,
    collection) are interned, so a million chunks hold one copy of each, not one per chunk."""
    data = json.loads(line)
    data["source"] = sys.intern(data["source"])
    data["title"] = data["title"] and sys.intern(data["title"])
    data["heading_path"] = tuple(map(sys.intern, data["heading_path"]))
    data["meta"] = {sys.intern(k): sys.intern(v) for k, v in data.get("meta", {}).items()}
    return Chunk(**data)


def _fsync_write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def current_generation(index_dir: Path) -> Path | None:
    """The generation folder `CURRENT` names, or None when the pointer or the folder is missing."""
    pointer = index_dir / POINTER
    if not pointer.is_file():
        return None
    generation = index_dir / pointer.read_text(encoding="utf-8").strip()
    return generation if generation.is_dir() else None


def index_exists(index_dir: Path) -> bool:
    """Whether the folder holds a current generation."""
    return current_generation(index_dir) is not None


def _write_files(folder: Path, state: IndexState) -> None:
    state.store.save(folder)
    _fsync_write(
        folder / "chunks.jsonl", "".join(_chunk_to_json(c) + "\n" for c in state.chunks.values())
    )
    files = {src: {**asdict(r), "chunk_ids": list(r.chunk_ids)} for src, r in state.files.items()}
    _fsync_write(folder / "files.json", json.dumps(files, ensure_ascii=False, indent=1))
    windows = {str(chunk): n for chunk, n in state.windows.items()}
    _fsync_write(folder / WINDOWS_FILE, json.dumps(windows))
    _fsync_write(folder / "manifest.json", json.dumps(state.manifest.as_dict(), indent=2))


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable: without it a power cut may undo the switch."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_index(index_dir: Path, state: IndexState) -> Path:
    """Write `state` as a new generation and make it current; keep the one it replaces (a
    reader may still be loading it) and remove older ones."""
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = current_generation(index_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"gen-{stamp}-{uuid.uuid4().hex[:8]}"
    staging = index_dir / f".tmp-{name}"
    staging.mkdir()
    _write_files(staging, state)
    staging.rename(index_dir / name)
    _fsync_write(index_dir / PREVIOUS, previous.name if previous else "")
    _fsync_write(index_dir / f".{POINTER}.tmp", name)
    os.replace(index_dir / f".{POINTER}.tmp", index_dir / POINTER)
    fsync_dir(index_dir)
    log.info("generation %s is current", name)
    state.store.committed()
    kept = {name} | ({previous.name} if previous else set())
    _remove_stale(index_dir, keep=kept, prefixes=("gen-", ".tmp-gen-"))
    return index_dir / name


@contextmanager
def writing(index_dir: Path) -> Iterator[bool]:
    """Mark the index as being written while the block runs (only while holding the writer
    lock); yields True when an earlier writer left its mark: it died or failed mid-write, so
    vectors it had added to a store outside the folder (Milvus) may belong to no generation.
    The mark goes only when the block ends normally."""
    mark = index_dir / WRITING
    died = mark.is_file()
    index_dir.mkdir(parents=True, exist_ok=True)
    mark.write_text(str(os.getpid()), encoding="utf-8")
    yield died
    mark.unlink(missing_ok=True)


def remove_stale(index_dir: Path) -> None:
    """Remove what a killed writer left: staging folders and generations that are not current.

    Only while holding the writer lock. Without a current generation, only staging folders go:
    a complete generation that lost its pointer is kept for whoever wants to recover it.
    """
    if not index_dir.is_dir():
        return
    current = current_generation(index_dir)
    prefixes = ("gen-", ".tmp-gen-") if current else (".tmp-gen-",)
    kept = {current.name, _previous(index_dir)} if current else set()
    _remove_stale(index_dir, keep=kept, prefixes=prefixes)
    (index_dir / f".{POINTER}.tmp").unlink(missing_ok=True)


def _previous(index_dir: Path) -> str:
    """The generation the current one replaced, which readers may still be loading."""
    path = index_dir / PREVIOUS
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def _remove_stale(index_dir: Path, keep: set[str], prefixes: tuple[str, ...]) -> None:
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry.name not in keep and entry.name.startswith(prefixes):
            log.info("removing %s (not current)", entry.name)
            shutil.rmtree(entry, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    """The current generation's manifest; raises `IndexNotBuiltError` when there is none."""
    return _manifest_of(_require_generation(index_dir))


def _manifest_of(generation: Path) -> Manifest:
    return Manifest.from_dict(
        json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    )


def _require_generation(index_dir: Path) -> Path:
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexNotBuiltError(f"no index at {index_dir}: build it with `kb ingest`")
    return generation


def load_index(index_dir: Path, store_spec: StoreSpec | None = None) -> IndexState:
    """Load the current generation; raises `IndexNotBuiltError` when there is none.

    `CURRENT` is read once, so every file comes from one generation. Writers keep the
    generation they replace, so one switch during a load is harmless; a load that still finds a
    file gone (two switches meanwhile) starts again from the new `CURRENT`."""
    attempts = 0
    while True:
        generation = _require_generation(index_dir)
        try:
            return _load_generation(generation, store_spec)
        except FileNotFoundError:
            attempts += 1
            if attempts >= _LOAD_ATTEMPTS or current_generation(index_dir) == generation:
                raise
            log.info("generation %s was replaced while loading it; loading the new one", generation)


def _load_generation(generation: Path, store_spec: StoreSpec | None) -> IndexState:
    manifest = _manifest_of(generation)
    chunks = read_chunks(generation)
    files = read_files(generation)
    store = open_store(generation, store_spec)
    windows = read_windows(generation)
    return IndexState(manifest, store, chunks, files, windows or {}, windows is not None)


def read_chunks(generation: Path) -> dict[int, Chunk]:
    """A generation's chunks, parsed a line at a time: reading the file whole first kept about
    2 GB of freed heap in the process at a million chunks (bench/memory_scale.py)."""
    with open(generation / "chunks.jsonl", encoding="utf-8") as lines:
        return {c.id: c for c in map(_chunk_from_json, filter(str.strip, lines))}


def current_files(index_dir: Path) -> dict[str, FileRecord]:
    """What the current generation knows of each file, without opening its vector store;
    raises `IndexNotBuiltError` when there is none."""
    return read_files(_require_generation(index_dir))


def read_files(generation: Path) -> dict[str, FileRecord]:
    """What a generation knows of each file (its files.json)."""
    raw = json.loads((generation / "files.json").read_text(encoding="utf-8"))
    return {source: _file_record(record) for source, record in raw.items()}


def _file_record(raw: dict[str, Any]) -> FileRecord:
    """A files.json entry; fields added since (collection, size, added) take their defaults."""
    known = {name: raw[name] for name in FileRecord.__dataclass_fields__ if name in raw}
    return FileRecord(**{**known, "chunk_ids": tuple(raw["chunk_ids"])})


def read_windows(generation: Path) -> dict[int, int] | None:
    """Window counts per chunk; None for a generation written before windows existed."""
    path = generation / WINDOWS_FILE
    if not path.is_file():
        return None
    return {int(chunk): n for chunk, n in json.loads(path.read_text(encoding="utf-8")).items()}
