"""The offline promise, tested: `kb ingest` and `kb ask` in a network namespace with no network."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, require

pytestmark = pytest.mark.integration


def _no_network_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    require(unshare is not None, "unshare (util-linux) is not installed")
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    require(
        probe.returncode == 0, f"unshare -rn is not permitted here: {probe.stderr.decode().strip()}"
    )
    return [unshare, "-rn"]  # type: ignore[list-item]


def _kb(
    prefix: list[str], cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ingest_and_ask_with_the_network_off(tmp_path: Path, default_gguf: Path) -> None:
    prefix = _no_network_prefix()
    shutil.copytree(CORPUS, tmp_path / "corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        {
            "KB_LLM__MODEL_PATH": str(default_gguf),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "HOME": str(tmp_path),
        }
    )  # no warm caches from the developer's home
    probe = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0, "the namespace still reaches the network"

    ingest = _kb(prefix, tmp_path, env, "ingest")
    assert ingest.returncode == 0, ingest.stderr
    assert "9 added" in ingest.stderr and "0 failed" in ingest.stderr

    ask = _kb(prefix, tmp_path, env, "ask", "What are some examples of open-source LLMs?", "--json")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    # The model ran with the network off; what it wrote varies with the CPU (issue 31).
    assert answer["backend"] == "local" and answer["answer"].strip() and answer["passages"]
    assert answer["timings"]["first_token_s"] is not None
