"""`kb docs list|remove|reindex` and `kb watch`: see and change the documents in the index,
and keep folders in sync with it.

A thin adapter over `assistant.documents.catalog`, `assistant.documents.watching` and the ingest: argument
parsing, the table, and the reports. Every change goes through the index's writer lock and
generation switch, like `kb ingest`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import IngestError
from assistant.settings import Settings

if TYPE_CHECKING:
    from index.builder import IngestReport
    from index.storage import FileRecord

COLUMNS = ("path", "title", "collection", "chunks", "size", "sha256", "added", "local_only")


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb docs list|show|remove|reindex`; returns the exit status."""
    actions = {"list": _list, "show": _show, "remove": _remove, "reindex": _reindex}
    return actions[args.action](args, settings)


def _indexed(settings: Settings) -> dict[str, FileRecord]:
    """The index's documents, read from its files.json: listing and matching need no vectors
    (a Milvus store stays closed)."""
    from index.storage import current_files

    return current_files(settings.index.dir)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.documents.catalog import document_rows

    rows = [row.as_dict() for row in document_rows(_indexed(settings), args.collection)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(_table(rows))
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    """The file read as an ingest reads it: its cleaned text, or the lines left out of it."""
    from ingest.readers import read_document

    path = settings.home.path.joinpath(args.path)
    document = read_document(path, str(args.path), ocr=settings.ingest.ocr)
    if not args.dropped:
        print(document.text)
    elif document.dropped:
        print("\n".join(f"- {line}" for line in document.dropped))
    else:
        print(f"kb: nothing left out of {args.path}", file=sys.stderr)
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no documents (kb ingest PATH adds some)"
    cells = [[_cell(row[column]) for column in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = [[c.upper() for c in COLUMNS], *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in lines
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)[:48]


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.documents.catalog import matching_sources, remove_documents
    from assistant.wiring import index_config
    from index.compaction import compact

    sources = matching_sources(_indexed(settings), args.patterns, settings.home.path)
    config = index_config(settings)
    report = remove_documents(config, sources, settings.web.upload_dir)
    compact(config)  # a rebuild once enough of the search graph is masked
    for source in report.removed:
        print(f"kb: removed {source}", file=sys.stderr)
    print(f"kb: {report.summary()}", file=sys.stderr)
    return 0


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.documents.catalog import matching_sources
    from assistant.wiring import ingest

    home = settings.home.path
    sources = matching_sources(_indexed(settings), args.patterns, home)
    report = ingest(settings, [home.joinpath(s) for s in sources], reindex=sources)
    print_report(report, settings)
    return 1 if report.failed else 0


def print_report(report: IngestReport, settings: Settings) -> None:
    """An ingest's report on stderr: each file skipped (by absolute path), then the counts."""
    for source, reason in report.failed:
        print(f"kb: skipped {settings.home.anchor(Path(source))}: {reason}", file=sys.stderr)
    furniture = report.furniture_summary()
    if furniture:
        print(f"kb: {furniture}", file=sys.stderr)
    print(f"kb: {report.summary()}", file=sys.stderr)


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """`kb watch`: sync once, then after each batch of changes, until interrupted."""
    from assistant.documents.watching import watch_and_sync
    from assistant.wiring import build_embedder, ingest

    paths = [path.resolve() for path in args.paths or settings.ingest.paths]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise IngestError(f"no such file or folder: {', '.join(missing)}")
    embedder = build_embedder(settings)  # loaded once, not per batch

    def sync() -> IngestReport:
        return ingest(settings, paths, embedder, graph_now=False, collection=args.collection)

    print(f"kb: watching {', '.join(map(str, paths))} (Ctrl-C stops)", file=sys.stderr)
    stop = threading.Event()
    with _ctrl_c_sets(stop):
        watch_and_sync(paths, sync, lambda report: print_report(report, settings), stop)
    if stop.is_set():
        print("kb: interrupted", file=sys.stderr)
        return 130
    return 0


@contextmanager
def _ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C sets `stop`: a sync under way finishes and the watch ends within a
    step, wherever the signal lands (an interrupt raised inside a sync or inside watchfiles'
    Rust loop can be lost, leaving `kb watch` running past SIGINT under load); a second one
    interrupts."""

    def on_sigint(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
