"""`kb docs list|remove|reindex`: see and change the documents in the index.

A thin adapter over `assistant.documents` and the ingest: argument parsing, the table, and the
report. Removing and re-indexing go through the index's writer lock and generation switch,
like `kb ingest`; a running page picks the change up at its next reload.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.settings import Settings

COLUMNS = ("path", "title", "collection", "chunks", "size", "sha256", "added", "local_only")


def add_parser(commands: Any) -> None:
    """Add `kb docs list|remove|reindex` to the CLI's subcommands."""
    docs = commands.add_parser("docs", help="list, remove or re-index the documents in the index")
    actions = docs.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="path, title, collection, chunks, size, sha256, …")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument(
        "--collection", action="append", metavar="NAME", help="only this collection (repeatable)"
    )
    for name, what in (("remove", "take out of the index"), ("reindex", "read again")):
        action = actions.add_parser(name, help=f"{what}: documents by path, folder or glob")
        action.add_argument(
            "patterns", nargs="+", metavar="PATH|GLOB", help="e.g. corpus/a.md, corpus/, '*.pdf'"
        )


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb docs list|remove|reindex`; returns the exit status."""
    return {"list": _list, "remove": _remove, "reindex": _reindex}[args.action](args, settings)


def _indexed(settings: Settings) -> Any:
    from assistant.wiring import store_spec
    from index.storage import load_index

    return load_index(settings.index.dir, store_spec(settings)).files


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.documents import document_rows

    rows = [row.as_dict() for row in document_rows(_indexed(settings), args.collection)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(_table(rows))
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
    from assistant.documents import matching_sources, remove_documents
    from assistant.wiring import store_spec

    sources = matching_sources(_indexed(settings), args.patterns, settings.home.path)
    report = remove_documents(
        settings.index.dir,
        sources,
        settings.home.path,
        settings.web.upload_dir,
        store_spec(settings),
    )
    for source in report.removed:
        print(f"kb: removed {source}", file=sys.stderr)
    print(f"kb: {report.summary()}", file=sys.stderr)
    return 0


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.documents import matching_sources
    from assistant.wiring import build_embedder, chunking_params, store_spec, window_params
    from index.builder import ingest_paths

    home = settings.home.path
    sources = matching_sources(_indexed(settings), args.patterns, home)
    report = ingest_paths(
        [home.joinpath(source) for source in sources],
        settings.index.dir,
        build_embedder(settings),
        chunking_params(settings),
        store=store_spec(settings),
        max_file_mb=settings.ingest.max_file_mb,
        windows=window_params(settings),
        base=home,
        reindex=sources,
    )
    for source, reason in report.failed:
        print(f"kb: could not read {home.joinpath(source)}: {reason}", file=sys.stderr)
    print(f"kb: {report.summary()}", file=sys.stderr)
    return 1 if report.failed else 0
