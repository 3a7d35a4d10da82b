"""`kb feedback export` through the installed `kb` command: a feedback file in kb's home
(KB_HOME) becomes eval rows, only the 👎 ones, on stdout or in --out, the summary on stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.evaluation import load_questions
from assistant.feedback.store import FeedbackStore
from tests.conftest import ROOT, require
from tests.unit.assistant.feedback.test_store import HISTORY, make_answer

pytestmark = pytest.mark.integration

KB = Path(sys.executable).parent / "kb"  # the console script `make run` installs


def _kb(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    require(KB.is_file(), f"the kb command is not installed beside {sys.executable}")
    # This checkout's code first, whichever checkout the command was installed from.
    env = {**os.environ, "KB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(KB), *args], cwd=home, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A kb home whose default feedback file holds one 👍 and two 👎 answers."""
    store = FeedbackStore(tmp_path / ".kb" / "feedback.sqlite3")
    liked = store.record_answer(make_answer("Liked?"), source="web")
    disliked = store.record_answer(make_answer("Why self-host?"), source="slack")
    followup = store.record_answer(make_answer("And privacy?"), source="web", history=HISTORY)
    store.rate(liked, "up", "user:ann")
    store.rate(disliked, "down", "U1")
    store.rate(followup, "down", "user:ann")
    store.close()
    return tmp_path


def test_export_to_a_file_writes_only_the_disliked_answers(home: Path) -> None:
    result = _kb(home, "feedback", "export", "--out", "eval/from-users.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "2 👎 answers" in result.stderr and "answer_must" in result.stderr
    lines = (home / "eval" / "from-users.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert sorted((r["question"], r["type"]) for r in rows) == [
        ("And privacy?", "followup"),
        ("Why self-host?", "fact"),
    ]
    assert all("answer_must" not in r and r["gold_snippets"] == [] for r in rows)
    completed = home / "completed.jsonl"
    completed.write_text(
        "".join(json.dumps({**r, "answer_must": ["cheaper"]}) + "\n" for r in rows)
    )
    assert len(load_questions(completed)) == 2


def test_export_to_stdout_and_with_no_feedback_yet(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = _kb(home, "feedback", "export")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["kb_backend"] for line in result.stdout.splitlines()] == ["local"] * 2
    empty = tmp_path_factory.mktemp("empty")
    nothing = _kb(empty, "feedback", "export")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    assert "no feedback yet" in nothing.stderr
    assert not (empty / ".kb" / "feedback.sqlite3").exists()
