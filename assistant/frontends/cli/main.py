"""`kb`: parse the command line (`parser`), load the settings and run the command (in
`commands`, `docs`, `models`, `feedback` and `audit`). Results go to stdout, progress and logs
to stderr.

Exit codes (EVAL.md): 0 success, 1 a reported error, 2 a usage error (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from assistant.errors import KbError
from assistant.frontends.cli import audit as cli_audit
from assistant.frontends.cli import commands
from assistant.frontends.cli import docs as cli_docs
from assistant.frontends.cli import feedback as cli_feedback
from assistant.frontends.cli import models as cli_models
from assistant.frontends.cli.parser import build_parser
from assistant.log_redaction import redact_logs
from assistant.settings import Settings, load_settings
from assistant.telemetry.json_logs import use_log_format
from assistant.wiring import enforce_offline

log = logging.getLogger("kb")


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
    "audit": cli_audit.cmd_audit,
    "serve": commands.cmd_serve,
    "slack": commands.cmd_slack,
    "mcp": commands.cmd_mcp,
}


ANSWERING_COMMANDS = {"ask", "eval", "serve", "slack", "mcp"}


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
    parser = build_parser()
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
