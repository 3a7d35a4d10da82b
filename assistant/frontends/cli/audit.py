"""`kb audit list|show|verify|export`: read the audit log of every answer (docs/audit.md).

`list` prints a line per record (or JSON Lines), `show` one record whole, `verify` checks the
hash chain (exit 1 naming the first broken record and why; torn lines are warnings) and
`export` writes records as JSON Lines or CSV. Nothing here writes to the log.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from assistant.audit.export import to_csv, to_jsonl
from assistant.audit.log import AuditLog, open_audit_log
from assistant.errors import KbError
from assistant.frontends.cli.feedback import write_whole
from assistant.settings import Settings

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
QUESTION_WIDTH = 60


def since_time(text: str) -> datetime:
    """An argparse type: `30m`, `1h`, `2d`, `1w` ago, or an ISO date or time (UTC unless it
    names its zone)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time like 2026-12-07T01:45 nor an age like 30m, 1h, 2d, 1w"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb audit ACTION`; returns the exit status."""
    log = open_audit_log(settings.audit)
    if not log.files() and args.action != "show":
        print(f"kb: no audit log yet ({settings.audit.dir} holds none)", file=sys.stderr)
    actions = {"list": _list, "show": _show, "verify": _verify, "export": _export}
    return actions[args.action](args, log)


def _selected(args: argparse.Namespace, log: AuditLog) -> Iterator[dict[str, Any]]:
    """The records from `--since` on, of `--caller` (a name or a glob) and `--surface`."""
    caller, surface = getattr(args, "caller", None), getattr(args, "surface", None)
    for record in log.records(args.since):
        if caller is not None and not fnmatchcase(str(record.get("caller", "")), caller):
            continue
        if surface is not None and record.get("surface") != surface:
            continue
        yield record


def list_line(record: dict[str, Any]) -> str:
    """One record as a terminal line: time, id, surface, caller, scope, outcome, backend and
    model, then the question's start (or its sha256 when only that was kept)."""
    time = str(record.get("time", ""))[:19].replace("T", " ")
    scope = ",".join(record.get("scope") or []) or "all"
    outcome = "refused" if record.get("refused") else "answered"
    model = f"{record.get('backend')}/{record.get('model')}"
    question = record.get("question")
    if question is None:
        shown = f"sha256:{str(record.get('question_sha256', ''))[:16]}…"
    else:
        flat = " ".join(str(question).split())
        shown = flat if len(flat) <= QUESTION_WIDTH else flat[: QUESTION_WIDTH - 1] + "…"
    fields = [time, str(record.get("id")), str(record.get("surface")), str(record.get("caller"))]
    return "  ".join([*fields, f"scope={scope}", outcome, model, shown])


def _list(args: argparse.Namespace, log: AuditLog) -> int:
    for record in _selected(args, log):
        line = json.dumps(record, ensure_ascii=False) if args.json else list_line(record)
        print(line)
    return 0


def _show(args: argparse.Namespace, log: AuditLog) -> int:
    record = log.find(args.id)
    if record is None:
        raise KbError(f"no audit record {args.id!r} in {log.folder}; `kb audit list` shows ids")
    print(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


def _verify(args: argparse.Namespace, log: AuditLog) -> int:
    check = log.verify(args.anchor)
    for warning in check.warnings:
        print(f"kb: warning: {warning}", file=sys.stderr)
    if not check.ok:
        raise KbError(
            f"the audit log does not verify: {check.problem} ({check.records} records before it "
            f"verify); docs/audit.md says what that means"
        )
    print(f"{check.records} records in {check.files} files verify")
    print(f"last hash: {check.last_hash} (keep it elsewhere; `--anchor` checks it later)")
    return 0


def _export(args: argparse.Namespace, log: AuditLog) -> int:
    records = list(_selected(args, log))
    text = to_csv(records) if args.format == "csv" else to_jsonl(records)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_whole(args.out, text)
    where = args.out or "stdout"
    print(f"kb: {len(records)} audit record(s) written to {where}", file=sys.stderr)
    return 0
