"""Dependencies run one way (ingest <- index <- assistant): import-linter's contract."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require


def test_layers_contract_holds() -> None:
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    require(Path(linter).exists(), "import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
