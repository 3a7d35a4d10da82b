"""One index's configuration: where it lives, its vector store, how files are chunked and
embedded, and what an ingest takes. Built once from the settings (`assistant.wiring`) and
passed to ingest, removal, loading, the upload library, doctor and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from index.stores import StoreSpec
from index.windows import WindowParams
from ingest.discovery import DEFAULT_MAX_FILE_MB
from ingest.splitter import ChunkingParams


@dataclass(frozen=True)
class IndexConfig:
    """An index folder and how it is built.

    `store` picks the vector store of a new (or rebuilt) index; an existing one keeps its own.
    `windows`: a chunk longer than the embedder reads is also embedded as windows of sentences
    (index/windows.py); None: not. `exclude`: file-name patterns never ingested. A file over
    `max_file_mb` (None: no limit) is reported and not read. Sources are named relative to
    `base` (kb's home) when inside it. `ocr`: PDF pages with no text layer are read by OCR.
    """

    dir: Path
    chunking: ChunkingParams = field(default_factory=ChunkingParams)
    store: StoreSpec = field(default_factory=StoreSpec)
    windows: WindowParams | None = None
    exclude: Collection[str] = ()
    max_file_mb: float | None = DEFAULT_MAX_FILE_MB
    base: Path = field(default_factory=Path.cwd)
    ocr: bool = True
