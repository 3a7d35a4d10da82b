"""tools/llama_build.py: the flags chosen per machine, and the AMX instruction count that checks
a build, against real compiled code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tools import llama_build
from tools.llama_build import NO_AMX, plan_build

AMX_CPU = (
    "model name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_tile amx_int8\n"
)
PLAIN_CPU = "model name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"


class _Probe:
    """Stands in for the AMX probe program; counts its calls."""

    def __init__(self, usable: bool):
        self.usable, self.calls = usable, 0

    def __call__(self) -> tuple[bool, str]:
        self.calls += 1
        return self.usable, "probed"


def _probe(usable: bool) -> _Probe:
    return _Probe(usable)


def test_amx_is_off_unless_the_probe_proves_the_tiles_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    assert plan_build(AMX_CPU, "Linux", False, _probe(False)).cflags == NO_AMX
    assert plan_build(AMX_CPU, "Linux", False, _probe(True)).cflags == ""
    probe = _probe(True)
    plain = plan_build(PLAIN_CPU, "Linux", False, probe)
    assert plain.cflags == NO_AMX and probe.calls == 0
    assert "-march" not in plain.cflags  # the rest of the native instruction set stays


def test_cuda_with_a_driver_metal_on_macos_and_user_cmake_args_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_BLAS=OFF")
    cuda = plan_build(AMX_CPU, "Linux", True, _probe(False))
    assert cuda.backend == "cuda" and cuda.cmake_args == "-DGGML_CUDA=on -DGGML_BLAS=OFF"
    metal = plan_build("", "Darwin", False, _probe(False))
    assert metal.backend == "metal" and metal.cflags == ""


def test_the_wheel_key_changes_with_flags_and_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    keys = {
        plan_build(AMX_CPU, "Linux", False, _probe(False)).key,
        plan_build(AMX_CPU, "Linux", False, _probe(True)).key,
        plan_build(AMX_CPU, "Linux", True, _probe(False)).key,
        plan_build(PLAIN_CPU, "Linux", False, _probe(False)).key,
    }
    assert len(keys) == 4


def test_a_cached_wheel_is_found_by_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_WHEELHOUSE", str(tmp_path))
    plan = plan_build(PLAIN_CPU, "Linux", False, _probe(False))
    assert llama_build.cached_wheel(plan) is None
    folder = tmp_path / f"llama-cpp-python-{llama_build.VERSION}-cpu-{plan.key}"
    folder.mkdir()
    wheel = folder / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    assert llama_build.cached_wheel(plan) == wheel


AMX_SOURCE = "#include <immintrin.h>\nvoid clear(void) { _tile_zero(0); _tile_release(); }\n"
PLAIN_SOURCE = "int add(int a, int b) { return a + b; }\n"


@pytest.mark.parametrize(
    ("source", "flags", "expected"),
    [
        (AMX_SOURCE, ["-mamx-tile"], 2),
        (PLAIN_SOURCE, ["-march=native", *NO_AMX.split()], 0),
    ],
)
def test_amx_instructions_are_counted_in_compiled_code(
    tmp_path: Path, source: str, flags: list[str], expected: int
) -> None:
    require(
        shutil.which("cc") is not None and shutil.which("objdump") is not None,
        "cc and objdump (binutils) are needed to compile and read the check's sample",
    )
    (tmp_path / "sample.c").write_text(source)
    library = tmp_path / "libsample.so"
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", *flags, str(tmp_path / "sample.c"), "-o", str(library)],
        check=True,
    )
    assert llama_build.count_amx_instructions(library) == expected


def test_a_driver_without_nvcc_gets_the_cpu_build_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(llama_build, "nvidia_gpu", lambda: True)
    monkeypatch.setattr(llama_build.shutil, "which", lambda name: None)
    monkeypatch.delenv("CUDACXX", raising=False)
    assert llama_build.cuda_build_possible() is False
    assert "nvcc" in capsys.readouterr().err
    monkeypatch.setenv("CUDACXX", "/usr/local/cuda/bin/nvcc")
    assert llama_build.cuda_build_possible() is True
