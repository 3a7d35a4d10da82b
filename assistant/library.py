"""The documents behind a running assistant: add uploaded files, count, and show a source.

Used by long-running frontends (the web page): an upload is copied into the upload folder,
ingested incrementally, and the assistant's retriever is swapped for one over the new index,
so the file is searchable at once. Ingests are serialised, within the process by a thread
lock and with other processes (`kb ingest`) by the index's writer lock, which an upload waits
for up to a minute before it fails; answering goes on meanwhile with the previous retriever. It does not decide what the user may upload: frontends check types
and sizes first.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import KbError
from assistant.pipeline import Assistant
from index.builder import IngestReport, ingest_paths
from index.storage import load_index
from index.stores import StoreSpec
from ingest.readers import read_document, supported_suffixes
from ingest.splitter import ChunkingParams

log = logging.getLogger(__name__)


FileProgress = Callable[[int, int, str], None]


class UnknownSourceError(KbError):
    """A source that is not in the index was asked for."""


@dataclass(frozen=True)
class LibraryStats:
    documents: int
    chunks: int


def safe_file_name(name: str) -> str:
    """A plain file name from whatever a browser sent: no folders, no odd characters."""
    stem = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\- ]+", "_", stem).strip(" .")
    return cleaned or "upload"


class DocumentLibrary:
    def __init__(
        self,
        assistant: Assistant,
        index_dir: Path,
        upload_dir: Path,
        params: ChunkingParams,
        store: StoreSpec | None = None,
    ):
        self._assistant = assistant
        self._index_dir = index_dir
        self._upload_dir = upload_dir
        self._params = params
        self._store = store or StoreSpec()
        self._lock = threading.Lock()

    def stats(self) -> LibraryStats:
        state = self._assistant.retriever.state
        return LibraryStats(len(state.files), len(state.chunks))

    def add_files(
        self, files: Iterable[tuple[Path, str]], on_file: FileProgress | None = None
    ) -> IngestReport:
        """Copy (temporary path, original name) pairs into the upload folder and ingest them
        one by one, calling `on_file(done, total, name)` before each."""
        targets = self._copy_in(files)
        report = IngestReport()
        with self._lock:
            try:
                for done, target in enumerate(targets):
                    if on_file:
                        on_file(done, len(targets), target.name)
                    one = ingest_paths(
                        [target],
                        self._index_dir,
                        self._assistant.embedder,
                        self._params,
                        store=self._store,
                    )
                    _merge(report, one)
            finally:  # files ingested before a failure (e.g. a busy index) are searchable too
                if report.changed:
                    self._reload()
        log.info("upload: %s", report.summary())
        return report

    def _copy_in(self, files: Iterable[tuple[Path, str]]) -> list[Path]:
        self._upload_dir.mkdir(parents=True, exist_ok=True)
        targets = []
        for path, name in files:
            target = self._upload_dir / safe_file_name(name)
            shutil.copyfile(path, target)
            targets.append(target)
        return targets

    def _reload(self) -> None:
        state = load_index(self._index_dir, self._store)
        self._assistant.retriever = self._assistant.retriever.reloaded(state)

    def document_text(self, source: str) -> tuple[str | None, str]:
        """(title, cleaned text) of an indexed source, read again from its file."""
        if source not in self._assistant.retriever.state.files:
            raise UnknownSourceError(f"{source} is not in the index")
        document = read_document(Path(source), source)
        return document.title, document.text


def _merge(total: IngestReport, one: IngestReport) -> None:
    total.added += one.added
    total.updated += one.updated
    total.unchanged += one.unchanged
    total.failed += one.failed
    total.chunks = one.chunks
    total.seconds += one.seconds


def accepted_suffixes() -> list[str]:
    return sorted(supported_suffixes())
