"""`kb`: the command line's parser and dispatch (the commands are in `commands`, `docs`,
`models` and `feedback`). Results go to stdout, progress and logs to stderr.

Exit codes (EVAL.md): 0 success, 1 a reported error, 2 a usage error (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from assistant.errors import KbError
from assistant.frontends.cli import commands
from assistant.frontends.cli import docs as cli_docs
from assistant.frontends.cli import feedback as cli_feedback
from assistant.frontends.cli import models as cli_models
from assistant.log_redaction import redact_logs
from assistant.settings import Settings, load_settings
from assistant.telemetry.json_logs import use_log_format
from assistant.wiring import enforce_offline
from index.lock import DEFAULT_WAIT_S

log = logging.getLogger("kb")


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
        type=cli_docs.collection_name,
        metavar="NAME",
        help="search only this collection (repeatable; default: all)",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"kb {version('kb')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "kb (not installed)"


def _parser() -> argparse.ArgumentParser:
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
        type=cli_docs.collection_name,
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
    cli_models.add_parser(commands)
    cli_docs.add_parser(commands)
    cli_docs.add_watch_parser(commands)
    cli_feedback.add_parser(commands)
    serve = commands.add_parser("serve", help="open the web assistant")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=_port, default=None)
    for sub in commands.choices.values():  # so that a stray option gets its command's usage
        sub.set_defaults(command_parser=sub)
    return parser


BACKEND_HELP = (
    "a profile (local, local-small, openai, anthropic or one you configured), "
    "`hosted` (the configured hosted profile) or `auto` (sensitive questions stay local)"
)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": commands.cmd_ingest,
    "retrieve": commands.cmd_retrieve,
    "ask": commands.cmd_ask,
    "eval": commands.cmd_eval,
    "doctor": commands.cmd_doctor,
    "models": cli_models.cmd_models,
    "docs": cli_docs.cmd_docs,
    "watch": cli_docs.cmd_watch,
    "feedback": cli_feedback.cmd_feedback,
    "serve": commands.cmd_serve,
    "slack": commands.cmd_slack,
}


ANSWERING_COMMANDS = {"ask", "eval", "serve", "slack"}


def _check_backend(args: argparse.Namespace, settings: Settings) -> None:
    """An unknown --backend is a usage error (exit 2), though the names come from settings; a
    routing setting naming no profile is an error (exit 1) before any command that answers."""
    name = getattr(args, "backend", None)
    if name is None and args.command not in ANSWERING_COMMANDS:
        return  # nothing of this command goes to a backend
    from assistant.backends.profiles import all_profiles, check_profile_names

    profiles = all_profiles(settings)
    known = [*profiles, "hosted", "auto"]
    if name is not None and name not in known:
        args.command_parser.error(f"--backend {name!r}: choose one of {', '.join(known)}")
    if args.command in ANSWERING_COMMANDS:
        check_profile_names(settings, profiles)


def run(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, return the exit code (EVAL.md)."""
    enforce_offline()  # before any command imports Hugging Face or Gradio
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    if not args.verbose:  # pypdf warns about each flaw it repairs; kb reports what it skipped
        logging.getLogger("pypdf").setLevel(logging.ERROR)
    redact_logs()
    try:
        settings = load_settings()
        use_log_format(settings.log.format)
        _check_backend(args, settings)
        return COMMANDS[args.command](args, settings)
    except KbError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    sys.exit(run(argv))


if __name__ == "__main__":
    main()
