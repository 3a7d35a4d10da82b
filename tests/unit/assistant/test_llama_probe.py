"""The llama.cpp probe: a child that dies (SIGILL above all) becomes a message with the fix,
a pass is remembered per model and build, a failure is not, and loading refuses to go on."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from assistant.backends.llms import llama_probe
from assistant.backends.llms.llama_cpp import LlamaCppChatModel
from assistant.backends.llms.llama_probe import LlamaBuildError, ProbeResult

SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
PASSING = ProbeResult(True, "read 110 prompt tokens", None, 110, 100.0, 10.0, 25, 0)
PASSING_CHILD = [sys.executable, "-c", f"print({json.dumps(json.dumps(asdict(PASSING)))})"]


@pytest.fixture
def gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model file (never loaded: the child is replaced) and a fixed build identity."""
    monkeypatch.setattr(llama_probe, "build_identity", lambda: "build-1")
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def _child(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setattr(llama_probe, "child_command", lambda model, layers: command)


def test_a_child_killed_by_sigill_is_an_illegal_instruction_with_the_rebuild_command(
    gguf: Path,
) -> None:
    result = llama_probe.run_probe(gguf, 0, SIGILL_CHILD)
    assert not result.ok
    assert "illegal instruction on this CPU" in result.detail
    assert result.fix is not None and "make rebuild-llama" in result.fix
    assert "-mno-amx-tile" in result.fix


def test_exit_code_132_from_a_shell_is_sigill_too(gguf: Path) -> None:
    result = llama_probe.run_probe(gguf, 0, ["sh", "-c", "exit 132"])
    assert "illegal instruction" in result.detail


def test_other_crashes_and_errors_are_named(gguf: Path) -> None:
    segv = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    assert "SIGSEGV" in llama_probe.run_probe(gguf, 0, segv).detail
    failing = [sys.executable, "-c", "import sys; sys.exit('bad magic in model.gguf')"]
    result = llama_probe.run_probe(gguf, 0, failing)
    assert not result.ok and "exit 1" in result.detail and "bad magic" in result.detail


def test_a_pass_is_remembered_and_a_failure_is_not(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "probe"
    _child(monkeypatch, SIGILL_CHILD)
    with pytest.raises(LlamaBuildError, match=r"illegal instruction.*make rebuild-llama"):
        llama_probe.ensure_llama_runs(gguf, 0, cache)
    assert not cache.exists() or not list(cache.iterdir())
    _child(monkeypatch, PASSING_CHILD)
    assert llama_probe.ensure_llama_runs(gguf, 0, cache) == PASSING
    _child(monkeypatch, SIGILL_CHILD)  # remembered: the child is not asked again
    assert llama_probe.ensure_llama_runs(gguf, 0, cache) == PASSING


def test_a_rebuild_or_another_offload_setting_asks_again(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "probe"
    _child(monkeypatch, PASSING_CHILD)
    llama_probe.ensure_llama_runs(gguf, 0, cache)
    _child(monkeypatch, SIGILL_CHILD)
    with pytest.raises(LlamaBuildError):
        llama_probe.ensure_llama_runs(gguf, -1, cache)
    monkeypatch.setattr(llama_probe, "build_identity", lambda: "build-2")
    with pytest.raises(LlamaBuildError):
        llama_probe.ensure_llama_runs(gguf, 0, cache)


def test_loading_the_model_refuses_in_words_when_the_build_would_crash(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _child(monkeypatch, SIGILL_CHILD)
    model = LlamaCppChatModel(gguf, "m", n_gpu_layers=0, probe_dir=tmp_path / "probe")
    with pytest.raises(LlamaBuildError, match="illegal instruction on this CPU"):
        list(model.stream([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0))


def test_the_offload_shown_comes_from_the_probe(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpu = ProbeResult(True, "ok", None, 110, 100.0, 10.0, 25, 25)
    _child(monkeypatch, [sys.executable, "-c", f"print({json.dumps(json.dumps(asdict(gpu)))})"])
    model = LlamaCppChatModel(gguf, "m", n_gpu_layers=-1, probe_dir=tmp_path / "probe")
    model.check_build()
    assert model.offload == "GPU (25 of 25 layers)"


def test_the_page_does_not_open_on_a_build_that_would_crash(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.backends.profiles import build_pool
    from assistant.frontends.web import check_local_builds
    from assistant.settings import LlmSettings, Settings

    _child(monkeypatch, SIGILL_CHILD)
    llm = LlmSettings(model_path=gguf, probe_dir=tmp_path / "probe", n_gpu_layers=0)
    with pytest.raises(LlamaBuildError, match="make rebuild-llama"):
        check_local_builds(build_pool(Settings(llm=llm)))


def test_doctor_llama_reports_the_crash_in_words_and_exits_1(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.frontends.cli import run

    _child(monkeypatch, SIGILL_CHILD)
    monkeypatch.setenv("KB_LLM__MODEL_PATH", str(gguf))
    monkeypatch.setenv("KB_LLM__PROBE_DIR", str(tmp_path / "probe"))
    monkeypatch.setenv("KB_LLM__N_GPU_LAYERS", "0")
    assert run(["doctor", "--llama", "--json"]) == 1
    local = json.loads(capsys.readouterr().out)["llama_cpp"]["probe"]["local"]
    assert local["ok"] is False
    assert "illegal instruction on this CPU" in local["detail"]
    assert "make rebuild-llama" in local["fix"]
