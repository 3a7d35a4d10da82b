"""Every entry point sets the offline environment itself, before anything imports Hugging Face
or Gradio: importing kb's entry modules loads neither, and running one sets the variables."""

import json
import os
import subprocess
import sys

import pytest

from assistant.wiring import OFFLINE_ENV
from tests.conftest import ROOT

PHONING_HOME = ("gradio", "huggingface_hub", "transformers", "sentence_transformers")


def _python(code: str) -> str:
    """`code` in a fresh interpreter whose environment has none of the offline variables."""
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_importing_the_entry_modules_loads_nothing_that_phones_home() -> None:
    loaded = _python(
        "import sys, app, assistant.frontends.cli.main, tools.model_setup\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PHONING_HOME!r}))"
    )
    assert loaded.strip() == "[]"


@pytest.mark.parametrize(
    "entry",
    [
        "from assistant.frontends.cli.main import run; run(['retrieve', '--help'])",
        "import sys, app; sys.argv = ['app.py', '--help']; app.main()",
    ],
    ids=["kb", "app.py"],
)
def test_an_entry_point_sets_the_offline_environment_first(entry: str) -> None:
    printed = _python(
        "import json, os\n"
        f"try:\n    {entry}\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(OFFLINE_ENV)!r}}}))"
    )
    assert json.loads(printed.splitlines()[-1]) == OFFLINE_ENV
