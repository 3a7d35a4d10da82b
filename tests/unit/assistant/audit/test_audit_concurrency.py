"""Many writers at once, as the page server, `kb slack` and `kb ask` are: threads of one
process and separate processes append to one log, rotating as they go, and every record is
there, once, in a chain that verifies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from assistant.audit.log import AuditLog
from assistant.frontends.cli.main import run
from tests.conftest import ROOT

WRITERS, EACH = 4, 25
SMALL = 4000  # bytes: several rotations while the writers race

_WRITER = """
import sys
from pathlib import Path
from assistant.access import Caller
from assistant.answering.models import Answer
from assistant.audit.log import AuditLog
from assistant.audit.records import answer_record
folder, surface, size, each = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = AuditLog(folder, max_bytes=size, secrets=[])
for n in range(each):
    answer = Answer(f"question {n}", "an answer", (), (), "local", "qwen")
    record = answer_record(answer, Caller(surface, surface), [], {}, "gen", None, "text")
    log.append(record | {"n": n})
"""


def _check_everything_is_there(folder: Path, surfaces: list[str]) -> None:
    log = AuditLog(folder, secrets=[])
    check = log.verify()
    assert check.ok, check.problem
    assert check.records == len(surfaces) * EACH and not check.warnings
    records = list(log.records())
    assert len({r["id"] for r in records}) == len(records)
    seen = Counter((r["surface"], r["n"]) for r in records)
    assert seen == Counter((s, n) for s in surfaces for n in range(EACH))
    assert len(log.files()) > 1  # it rotated while they raced


def test_threads_sharing_one_log_and_each_with_its_own(tmp_path: Path) -> None:
    shared = AuditLog(tmp_path, max_bytes=SMALL, secrets=[])
    surfaces = [f"thread{i}" for i in range(WRITERS)]

    def write(surface: str, own: bool) -> None:
        log = AuditLog(tmp_path, max_bytes=SMALL, secrets=[]) if own else shared
        for n in range(EACH):
            log.append({"surface": surface, "caller": surface, "n": n})

    threads = [
        threading.Thread(target=write, args=(surface, i % 2 == 0))
        for i, surface in enumerate(surfaces)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_everything_is_there(tmp_path, surfaces)


def test_processes_page_api_and_slack_writing_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    surfaces = ["page", "api", "slack", "cli"][:WRITERS]
    folder = tmp_path / ".kb" / "audit"  # the default place in kb's home
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder), surface, str(SMALL), str(EACH)],
            env=env,
            cwd=tmp_path,
        )
        for surface in surfaces
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0] * WRITERS
    _check_everything_is_there(folder, surfaces)
    monkeypatch.chdir(tmp_path)
    assert run(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith(f"{WRITERS * EACH} records in ")
