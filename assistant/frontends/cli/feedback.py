"""`kb feedback export [--out FILE]`: the 👎 answers from the page and Slack as eval rows
(JSON Lines, EVAL.md's format without `answer_must`), to stdout or a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.errors import KbError
from assistant.settings import Settings


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb feedback export`; returns the exit status."""
    from assistant.feedback.export import disliked_rows
    from assistant.feedback.store import FeedbackStore

    if not settings.feedback.db.is_file():
        print(f"kb: no feedback yet ({settings.feedback.db} does not exist)", file=sys.stderr)
        rows: list[dict[str, Any]] = []
    else:
        store = FeedbackStore(settings.feedback.db)
        rows = disliked_rows(store.rated("down"))
        store.close()
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_whole(args.out, text)
    where = args.out or "stdout"
    print(
        f"kb: {len(rows)} 👎 answer(s) written to {where}; add `answer_must` (and gold_snippets)"
        " to each row before using it as an eval set",
        file=sys.stderr,
    )
    return 0


def write_whole(path: Path, text: str) -> None:
    """Write through a temporary file, so an existing file is replaced whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise KbError(f"cannot write {path}: {exc}; choose another --out") from exc
