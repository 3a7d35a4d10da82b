"""The import contracts in pyproject.toml hold: layers run one way, and no module cycle returns."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require

# layers; assistant's layers; no sibling cycles; the page and Slack apart; nothing imports tests;
# kb never imports bench or harness
CONTRACTS = 6


def test_import_contracts_hold() -> None:
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    require(Path(linter).exists(), "import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"\b{CONTRACTS} kept, 0 broken", result.stdout), result.stdout
