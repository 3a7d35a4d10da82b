"""`kb feedback export [--out FILE]`: the 👎 answers of the page and Slack as evaluation rows
(JSON Lines, ../shared/EVAL.md's format without `answer_must`) for a person to complete.

Rows go to stdout, or to FILE with `--out`; the summary goes to stderr, so stdout stays a clean
JSON Lines file. The rows themselves are made by `assistant.feedback.export`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.errors import KbError
from assistant.settings import Settings


def add_parser(commands: Any) -> None:
    """Add `kb feedback export` to the CLI's subcommands."""
    feedback = commands.add_parser("feedback", help="the 👍 and 👎 given on the page and in Slack")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", help="the 👎 answers as eval rows (JSON Lines) to complete by hand"
    )
    export.add_argument(
        "--out", type=Path, metavar="FILE", help="write the rows here (default: stdout)"
    )


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb feedback export`; returns the exit status."""
    from assistant.feedback.export import disliked_rows
    from assistant.feedback.store import FeedbackStore

    path = settings.feedback.db
    if not path.is_file():  # opening would create it: say there is nothing yet instead
        print(f"kb: no feedback yet ({path} does not exist); wrote 0 rows", file=sys.stderr)
        rows: list[dict[str, Any]] = []
    else:
        rows = disliked_rows(FeedbackStore(path).rated("down"))
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write(args.out, text)
    where = args.out or "stdout"
    print(f"kb: {len(rows)} 👎 answers from {path} written to {where}", file=sys.stderr)
    if rows:
        print("kb: fill in gold_snippets, answer_must and answer in each row", file=sys.stderr)
    return 0


def _write(out: Path, text: str) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KbError(f"cannot write {out}: {exc.strerror or exc}; pick another --out") from exc
