"""The import contracts in pyproject.toml hold: layers run one way, and no module cycle returns."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require

CONTRACTS = 5  # layers; assistant's layers; no sibling cycles; nothing imports tests; kb never imports bench or harness


def test_import_contracts_hold() -> None:
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    require(Path(linter).exists(), "import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"\b{CONTRACTS} kept, 0 broken", result.stdout), result.stdout


def test_assistant_groups_modules_by_role() -> None:
    """A newcomer finds where kb refuses, cites or falls back from the folder names alone."""
    assistant = ROOT / "assistant"
    assert (assistant / "guards" / "refusal.py").is_file()
    assert (assistant / "guards" / "attribution.py").is_file()
    assert (assistant / "answering" / "pipeline.py").is_file()
    assert (assistant / "backends" / "fallback.py").is_file()
    flat = sorted(
        p.name for p in assistant.glob("*.py") if p.name not in {"__init__.py", "__main__.py"}
    )
    assert len(flat) <= 8, flat
