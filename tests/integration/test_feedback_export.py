"""`kb feedback export` through the installed command: 👎 answers kept in the home's feedback
file come out as eval rows on stdout or in a file, 👍 ones do not; no file yet is not an error."""

import json
from pathlib import Path

import pytest

from assistant.feedback.store import FeedbackStore
from tests.integration.test_any_directory import _kb
from tests.unit.assistant.conversations.test_store import make_answer

pytestmark = pytest.mark.integration


def test_export_writes_the_disliked_answers_as_eval_rows(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / ".kb" / "feedback.sqlite3")  # the home's default file
    down = store.record_answer(make_answer("Is it cheaper?"), source="web")
    up = store.record_answer(make_answer("Is it private?"), source="slack")
    store.rate(down, "down", "ann")
    store.rate(up, "up", "ann")
    store.close()

    printed = _kb(tmp_path, "feedback", "export", KB_HOME=str(tmp_path))
    assert printed.returncode == 0, printed.stderr
    [row] = [json.loads(line) for line in printed.stdout.splitlines()]
    assert row["question"] == "Is it cheaper?" and "answer_must" not in row
    assert "1 👎 answer(s) written to stdout" in printed.stderr

    out = tmp_path / "from-users.jsonl"
    written = _kb(tmp_path, "feedback", "export", "--out", str(out), KB_HOME=str(tmp_path))
    assert written.returncode == 0 and json.loads(out.read_text())["id"] == row["id"]

    doctor = _kb(tmp_path, "doctor", "--json", KB_HOME=str(tmp_path))
    report = json.loads(doctor.stdout)["feedback"]
    assert (report["exists"], report["rated_up"], report["rated_down"]) == (True, 1, 1)


def test_export_without_any_feedback_says_so(tmp_path: Path) -> None:
    result = _kb(tmp_path, "feedback", "export", KB_HOME=str(tmp_path))
    assert result.returncode == 0 and result.stdout == ""
    assert "no feedback yet" in result.stderr
    doctor = _kb(tmp_path, "doctor", "--json", KB_HOME=str(tmp_path))
    assert json.loads(doctor.stdout)["feedback"]["exists"] is False
    assert not (tmp_path / ".kb" / "feedback.sqlite3").exists()  # looking creates nothing
