"""`kb` from any directory: the installed command, the real embedder, the home found from
elsewhere (KB_HOME, a kb.yaml above, the checkout), and absolute paths in what it says."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require

pytestmark = pytest.mark.integration

KB = Path(sys.executable).parent / "kb"  # the console script `make run` installs


def _kb(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    require(KB.is_file(), f"the kb command is not installed beside {sys.executable}")
    environment = {k: v for k, v in os.environ.items() if k != "KB_HOME"}
    return subprocess.run(
        [str(KB), *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kb home with a kb.yaml, one note, and an index built by `kb ingest` run from a folder
    two levels below it."""
    root = tmp_path_factory.mktemp("project")
    (root / "kb.yaml").write_text("ingest:\n  paths: [notes]\n")
    (root / "notes").mkdir()
    (root / "notes" / "costs.md").write_text(
        "# Costs\n\nSelf-hosting an open model is cheaper than API fees at very high volume.\n"
    )
    deep = root / "sub" / "deeper"
    deep.mkdir(parents=True)
    ingest = _kb(deep, "ingest")
    assert ingest.returncode == 0, ingest.stderr
    assert "1 added" in ingest.stderr
    return root


def test_ingest_from_below_the_home_writes_the_home_index(project: Path) -> None:
    assert (project / ".kb" / "index" / "CURRENT").is_file()
    assert not (project / "sub" / "deeper" / ".kb").exists()


def test_retrieve_from_an_unrelated_folder_with_kb_home(project: Path, tmp_path: Path) -> None:
    found = _kb(tmp_path, "retrieve", "Is self-hosting cheaper?", "--json", KB_HOME=str(project))
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["hits"][0]["source"] == "notes/costs.md"


def test_doctor_says_where_the_home_is_and_why(project: Path, tmp_path: Path) -> None:
    below = _kb(project / "sub", "doctor", "--json", "--no-probe")
    report = json.loads(below.stdout)
    assert report["settings"]["home"] == str(project)
    assert "kb.yaml" in report["settings"]["home_because"]
    assert report["settings"]["kb.yaml"] == str(project / "kb.yaml")
    assert report["index"]["dir"] == str(project / ".kb" / "index") and report["index"]["built"]
    assert report["index"]["collections"] == {"default": 1}
    elsewhere = json.loads(_kb(tmp_path, "doctor", "--json", "--no-probe").stdout)
    assert elsewhere["settings"]["home"] == str(ROOT)  # no KB_HOME, no kb.yaml: the checkout
    assert "checkout" in elsewhere["settings"]["home_because"]


def test_a_home_without_documents_names_the_absolute_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    ingest = _kb(tmp_path, "ingest", KB_HOME="empty")
    assert ingest.returncode == 1
    assert f"no such file or folder: {empty / 'corpus'}" in ingest.stderr
