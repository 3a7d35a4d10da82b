"""`KB_LOG__FORMAT=json` in the real `kb` CLI, in a child process: every log line on stderr is
one JSON object, and a secret from the environment comes out redacted."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SECRET = "sk-test-json-0123456789abc"


def test_kb_ingest_logs_one_json_object_per_line_without_secrets(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "costs.md").write_text("# Costs\n\nSelf-hosting is cheaper at high volumes.\n")
    (docs / f"{SECRET}.pdf").write_bytes(b"\x00\x01 not a pdf")  # its skip is logged, by name
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
        "PYTHONPATH": str(ROOT),
        "KB_HOME": ".",
        "KB_EMBEDDER__BACKEND": "hashing",
        "KB_INGEST__PATHS": '["docs"]',
        "KB_LOG__FORMAT": "json",
        "OPENAI_API_KEY": SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.fake_kb", "-v", "ingest"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The CLI's own messages ("kb: 1 added, ...") are printed, not logged.
    logged = [line for line in done.stderr.splitlines() if not line.startswith("kb: ")]
    lines = [json.loads(line) for line in logged]
    assert len(lines) >= 3
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    skipped = [line["message"] for line in lines if line["message"].startswith("skipped ")]
    assert skipped and skipped[0].startswith("skipped docs/***.pdf")
    assert SECRET not in "\n".join(logged)
