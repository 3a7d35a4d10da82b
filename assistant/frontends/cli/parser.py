"""Everything `kb` accepts: its commands, their arguments and help, in one parser. What each
command does is in `commands`, `docs`, `models`, `feedback` and `audit`; `main` runs them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.lock import DEFAULT_WAIT_S


def _at_least(minimum: float, kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a number of `kind`, `minimum` or more (argparse names the option)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below {minimum:g}")
        return value

    return parse


def _question(text: str) -> str:
    """An argparse type: a question with something in it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the question is empty")
    return text


POSITIVE = _at_least(1, int)


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    port = int(POSITIVE(text))
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{text} is above 65535")
    return port


def _add_scope(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--collection",
        action="append",
        type=collection_name,
        metavar="NAME",
        help="search only this collection (repeatable; default: all)",
    )


def collection_name(text: str) -> str:
    """An argparse type: a name a collection can have."""
    from assistant.documents.catalog import check_collection_name

    try:
        return check_collection_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"kb {version('kb')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "kb (not installed)"


BACKEND_HELP = (
    "a profile (local, local-small, openai, anthropic or one you configured), "
    "`hosted` (the configured hosted profile) or `auto` (sensitive questions stay local)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb", description="Ask questions about your documents, with citations."
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="build or update the index")
    ingest.add_argument("paths", nargs="*", type=Path, help="files and folders (default: corpus/)")
    ingest.add_argument("--rebuild", action="store_true", help="start a new index from scratch")
    ingest.add_argument(
        "--wait",
        type=_at_least(0, float),
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help="how long to wait for another ingest of the same index before giving up "
        f"(default {DEFAULT_WAIT_S:.0f}; 0 refuses at once)",
    )
    ingest.add_argument(
        "--collection",
        type=collection_name,
        metavar="NAME",
        help="put the files read into this collection (default: a folder's .kb-collection, "
        "else the one a file had, else `default`)",
    )
    retrieve = commands.add_parser("retrieve", help="show the passages found for a question")
    retrieve.add_argument(
        "question", type=_question, help="the question, or - to read one per line from stdin"
    )
    retrieve.add_argument("--top-k", type=POSITIVE, default=5, help="passages to show (1 or more)")
    retrieve.add_argument("--json", action="store_true", help="machine-readable output")
    _add_scope(retrieve)
    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument(
        "question", type=_question, help="the question, or - to read JSON Lines from stdin"
    )
    ask.add_argument("--backend", default=None, help=BACKEND_HELP)
    ask.add_argument(
        "--top-k", type=POSITIVE, default=None, help="passages given to the model (1 or more)"
    )
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    _add_scope(ask)
    evaluate = commands.add_parser("eval", help="score retrieval and answers on a question set")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--backend", default=None, help=BACKEND_HELP)
    evaluate.add_argument("--no-answers", action="store_true", help="retrieval metrics only")
    _add_scope(evaluate)
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    doctor = commands.add_parser(
        "doctor", help="check models, index, GPU, offline settings and each backend profile"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument(
        "--no-probe", action="store_true", help="skip the one-token test of each profile"
    )
    doctor.add_argument(
        "--llama",
        action="store_true",
        help="only whether the llama.cpp build runs each local model on this CPU (`make test` "
        "runs this first); exit 1 with the fix when it does not",
    )
    slack = commands.add_parser("slack", help="run the Slack bot (Socket Mode, or --http)")
    slack.add_argument("--http", action="store_true", help="Events API over HTTP instead")
    slack.add_argument("--host", default="127.0.0.1", help="--http: listen address")
    slack.add_argument("--port", type=_port, default=None, help="--http: port (default 3000)")
    mcp = commands.add_parser(
        "mcp", help="serve kb to MCP clients over stdio (Claude Desktop, Claude Code, VS Code, …)"
    )
    mcp.add_argument("--backend", default=None, help="the profile `ask` answers with by default")
    _add_models(commands)
    _add_docs(commands)
    _add_watch(commands)
    _add_feedback(commands)
    _add_audit(commands)
    serve = commands.add_parser("serve", help="open the web assistant")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=_port, default=None)
    for sub in commands.choices.values():  # so that a stray option gets its command's usage
        sub.set_defaults(command_parser=sub)
    return parser


def _add_docs(commands: Any) -> None:
    """`kb docs list|show|remove|reindex` to the CLI's subcommands."""
    docs = commands.add_parser(
        "docs", help="list, show, remove or re-index the documents in the index"
    )
    actions = docs.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="path, title, collection, chunks, size, sha256, …")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument(
        "--collection", action="append", metavar="NAME", help="only this collection (repeatable)"
    )
    show = actions.add_parser("show", help="a file's text as kb reads it (cleaned)")
    show.add_argument("path", type=Path, metavar="PATH", help="e.g. corpus/a.md")
    show.add_argument(
        "--dropped",
        action="store_true",
        help="only the page furniture left out (ads, captions, buttons, further reading)",
    )
    for name, what in (("remove", "take out of the index"), ("reindex", "read again")):
        action = actions.add_parser(name, help=f"{what}: documents by path, folder or glob")
        action.add_argument(
            "patterns", nargs="+", metavar="PATH|GLOB", help="e.g. corpus/a.md, corpus/, '*.pdf'"
        )


def _add_watch(commands: Any) -> None:
    """`kb watch`."""
    watch = commands.add_parser(
        "watch", help="keep folders in sync with the index: adds, changes and removals"
    )
    watch.add_argument(
        "paths", nargs="*", type=Path, help="files and folders (default: ingest.paths)"
    )
    watch.add_argument(
        "--collection", type=collection_name, metavar="NAME", help="as with kb ingest"
    )


def _add_models(commands: Any) -> None:
    """`kb models list` and `kb models add`."""
    models = commands.add_parser("models", help="list the local GGUF chat models, or add one")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="name, size, sha256, quantisation, measured speed")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument(
        "--probe", action="store_true", help="measure speed for models not measured yet"
    )
    listing.add_argument("--no-hash", action="store_true", help="skip the sha256 (slow for GBs)")
    add = actions.add_parser("add", help="copy or download a GGUF into the model folder")
    add.add_argument("source", help="a file, an https:// URL or hf://owner/repo/file.gguf")
    add.add_argument("--sha256", default=None, help="refuse the file unless it has this hash")
    add.add_argument(
        "--default", action="store_true", help="make it the `local` model (kb.yaml llm.model_path)"
    )


def _add_feedback(commands: Any) -> None:
    """`kb feedback export`."""
    feedback = commands.add_parser("feedback", help="the 👍/👎 people gave answers")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", help="the 👎 answers as eval rows (JSON Lines) for a person to finish"
    )
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")


def _add_filters(action: argparse.ArgumentParser) -> None:
    """`--since`, `--caller` and `--surface`: which audit records."""
    from assistant.frontends.cli.audit import since_time

    action.add_argument(
        "--since", type=since_time, metavar="WHEN", help="from then on: 2026-12-07, 1h, 2d, 1w"
    )
    action.add_argument("--caller", metavar="NAME", help="only this caller (a name or a glob)")
    action.add_argument(
        "--surface", choices=("page", "api", "mcp", "slack", "cli"), help="only this surface"
    )


def _add_audit(commands: Any) -> None:
    """`kb audit list|show|verify|export`."""
    audit = commands.add_parser("audit", help="the audit log of every answer: list, check, export")
    actions = audit.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="time, id, surface, caller, scope, model, question")
    _add_filters(listing)
    listing.add_argument("--json", action="store_true", help="JSON Lines, whole records")
    show = actions.add_parser("show", help="one record, whole")
    show.add_argument("id", metavar="ID", help="as `kb audit list` shows it")
    verify = actions.add_parser("verify", help="check the hash chain; exit 1 at a broken record")
    verify.add_argument(
        "--anchor", metavar="HASH", help="also check that this earlier last hash is still there"
    )
    export = actions.add_parser("export", help="records as JSON Lines or CSV")
    _add_filters(export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
