"""The llama.cpp probe: a child that dies (SIGILL above all) becomes a message with the fix,
a pass is remembered per model and build, a failure is not, and loading refuses to go on."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from assistant.backends.llms import cpu_threads, llama_probe
from assistant.backends.llms.cpu_threads import chosen_threads
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
    monkeypatch.setattr(llama_probe, "child_command", lambda model, layers, threads: command)


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
    with pytest.raises(LlamaBuildError):  # another thread count: timed with other threads
        llama_probe.ensure_llama_runs(gguf, 0, cache, chosen_threads(None) + 1)
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
    from assistant.frontends.web.page import check_local_builds
    from assistant.settings import LlmSettings, Settings

    _child(monkeypatch, SIGILL_CHILD)
    llm = LlmSettings(model_path=gguf, model_dir=tmp_path / "models", n_gpu_layers=0)
    with pytest.raises(LlamaBuildError, match="make rebuild-llama"):
        check_local_builds(build_pool(Settings(llm=llm)))


def test_doctor_llama_reports_the_crash_in_words_and_exits_1(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.frontends.cli.main import run

    _child(monkeypatch, SIGILL_CHILD)
    monkeypatch.setenv("KB_LLM__MODEL_PATH", str(gguf))
    monkeypatch.setenv("KB_LLM__MODEL_DIR", str(tmp_path / "models"))  # probes beside it
    monkeypatch.setenv("KB_LLM__N_GPU_LAYERS", "0")
    assert run(["doctor", "--llama", "--json"]) == 1
    local = json.loads(capsys.readouterr().out)["llama_cpp"]["probe"]["local"]
    assert local["ok"] is False
    assert "illegal instruction on this CPU" in local["detail"]
    assert "make rebuild-llama" in local["fix"]


def test_the_child_is_asked_to_time_with_the_threads_kb_writes_with(
    gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpu_threads, "writing_threads", lambda: 2)
    assert llama_probe.child_command(gguf, 0)[-3:] == [str(gguf), "0", "2"]
    assert llama_probe.child_command(gguf, -1, 5)[-2:] == ["-1", "5"]  # llm.n_threads wins
    assert llama_probe.probe_key(gguf, 0) == llama_probe.probe_key(gguf, 0, 2)
    assert llama_probe.probe_key(gguf, 0) != llama_probe.probe_key(gguf, 0, 1)


class _FakeLlama:
    """Reads 200 prompt tokens/s once warm (the first read of a cold context takes 10 s more)
    and writes 20 tokens/s, on a clock it keeps itself."""

    def __init__(self, clock: list[float], **options: object) -> None:
        self.clock, self.options, self.cached = clock, options, 0
        self.metadata = {"general.architecture": "qwen2", "qwen2.block_count": "28"}
        self.reads: list[int] = []

    def tokenize(self, text: bytes) -> list[bytes]:
        return text.split()

    def reset(self) -> None:
        self.cached = 0

    def create_completion(self, prompt: str, max_tokens: int, temperature: float) -> object:
        tokens = len(prompt.split())
        if tokens != self.cached:  # not cached: read it (a cold context pays its warm-up)
            self.clock[0] += tokens / 200 + (10 if not self.reads else 0)
            self.reads.append(tokens)
        self.cached = tokens
        self.clock[0] += max_tokens / 20 if max_tokens > 1 else 0  # one token: the read's
        return {"usage": {"completion_tokens": max_tokens}}


def test_the_probe_times_a_warm_read_of_a_longer_prompt_and_its_threads(
    gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    clock, made = [0.0], []

    def llama(**options: object) -> _FakeLlama:
        made.append(_FakeLlama(clock, **options))
        return made[-1]

    fake = types.SimpleNamespace(Llama=llama, llama_supports_gpu_offload=lambda: False)
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    monkeypatch.setattr(llama_probe, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    result = llama_probe._probe_here(gguf, 0, 3, repeat=4, write=17)
    words = len(llama_probe.PROBE_TEXT.split())
    assert made[0].options["n_threads"] == 3 and result.threads == 3
    assert made[0].reads == [2 * words, 4 * words]  # the crash check, then the timed read afresh
    assert result.prompt_tokens == 4 * words and result.prompt_tok_s == pytest.approx(200)
    assert result.gen_tok_s == pytest.approx(20)
    assert result.detail.endswith("(3 threads)") and result.layers == 29
