"""Build llama-cpp-python for the machine it runs on, once per machine, and install it.

llama-cpp-python ships only as source, and pip compiles it with `-march=native`. On a CPU that
advertises AMX but does not let processes use the tile registers, that build dies with SIGILL
on the first real prompt. So AMX is turned off unless a small probe program proves the tiles
work here; the rest of the native instruction set (AVX-512, VNNI) stays. With an NVIDIA driver
the CUDA build is made; on macOS llama.cpp's default Metal build.

The wheel is kept in a wheelhouse keyed by version, build flags and CPU, so a second checkout or
a rebuilt venv on the same machine installs it in seconds. Standard library only: it runs before
kb is installed. Usage: `python tools/llama_build.py --pip .venv/bin/pip [--rebuild] [--plan]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = "0.3.36"
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
# Instructions only an AMX build emits; `count_amx_instructions` looks for them in a library.
AMX_INSTRUCTION = re.compile(
    r"\t(tileloadd|tileloaddt1|tilestored|tilezero|tilerelease|ldtilecfg|sttilecfg"
    r"|tdpbusd|tdpbssd|tdpbsud|tdpbuud|tdpbf16ps|tdpfp16ps)\b"
)
COMPILE_MINUTES = {"cpu": "6-8", "cuda": "15-25", "metal": "5-8"}

AMX_PROBE_C = r"""
#include <immintrin.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18
struct tile_config {
  unsigned char palette_id, start_row, reserved[14];
  unsigned short colsb[16];
  unsigned char rows[16];
};
int main(void) {
  static unsigned char data[1024];
  struct tile_config config;
  if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return 3;
  memset(&config, 0, sizeof config);
  config.palette_id = 1;
  config.rows[0] = 16;
  config.colsb[0] = 64;
  _tile_loadconfig(&config);
  _tile_loadd(0, data, 64);
  _tile_zero(0);
  _tile_release();
  return 0;
}
"""


@dataclass(frozen=True)
class BuildPlan:
    """What to compile, and why: the key names the wheel in the wheelhouse."""

    backend: str  # cpu | cuda | metal
    cmake_args: str
    cflags: str
    amx: str  # why AMX is on or off, in words
    cpu: str

    @property
    def key(self) -> str:
        """Names the wheel: the same version, flags and CPU give the same key."""
        text = json.dumps([VERSION, self.cmake_args, self.cflags, self.cpu], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def describe(self) -> str:
        """The plan in words, for the progress line."""
        flags = " ".join(part for part in (self.cmake_args, self.cflags) if part) or "defaults"
        return f"{self.backend} build, {flags} ({self.amx})"


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags in `/proc/cpuinfo` text (empty when none are listed)."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_signature(cpuinfo: str) -> str:
    """Model name and feature flags: a native build is only valid for CPUs that match both."""
    model = next(
        (line.partition(":")[2].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or platform.machine(),
    )
    flags = " ".join(sorted(cpu_flags(cpuinfo)))
    return f"{platform.machine()} {model} {hashlib.sha256(flags.encode()).hexdigest()[:8]}"


def amx_tiles_usable(cc: str = "cc") -> tuple[bool, str]:
    """Run a program that loads an AMX tile, in a child process; a signal means no."""
    if shutil.which(cc) is None:
        return False, f"no C compiler ({cc}) to probe AMX, so AMX off"
    with tempfile.TemporaryDirectory() as tmp:
        source, binary = Path(tmp, "amx.c"), Path(tmp, "amx")
        source.write_text(AMX_PROBE_C)
        built = subprocess.run(
            [cc, "-O1", "-mamx-tile", str(source), "-o", str(binary)], capture_output=True
        )
        if built.returncode != 0:
            return False, "the compiler cannot build AMX code, so AMX off"
        ran = subprocess.run([str(binary)], capture_output=True)
    if ran.returncode == 0:
        return True, "AMX on: the probe loaded a tile"
    how = f"signal {-ran.returncode}" if ran.returncode < 0 else f"exit {ran.returncode}"
    return False, f"AMX off: the CPU lists AMX but a tile load failed here, {how}"


def nvidia_gpu() -> bool:
    """Whether `nvidia-smi` finds a GPU, that is, whether a driver is here."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cuda_build_possible() -> bool:
    """A driver to run CUDA and a compiler to build it; a driver alone gets the CPU build."""
    if not nvidia_gpu():
        return False
    if shutil.which("nvcc") or os.environ.get("CUDACXX"):
        return True
    print(
        "kb: an NVIDIA GPU is here but the CUDA compiler (nvcc) is not, so llama.cpp is built for "
        "the CPU; install the CUDA toolkit, then run `make rebuild-llama`",
        file=sys.stderr,
    )
    return False


def plan_build(
    cpuinfo: str,
    system: str,
    gpu: bool,
    probe_amx: Callable[[], tuple[bool, str]] = amx_tiles_usable,
) -> BuildPlan:
    """The flags for this machine; `probe_amx` is only called when the CPU lists AMX."""
    extra = os.environ.get("CMAKE_ARGS", "").strip()
    if system == "Darwin":
        return BuildPlan("metal", extra, "", "AMX not applicable", cpu_signature(cpuinfo))
    backend = "cuda" if gpu else "cpu"
    cmake_args = " ".join(part for part in ("-DGGML_CUDA=on" if gpu else "", extra) if part)
    if "amx_tile" in cpu_flags(cpuinfo):
        usable, why = probe_amx()
    else:
        usable, why = False, "AMX off: the CPU does not list it"
    return BuildPlan(backend, cmake_args, "" if usable else NO_AMX, why, cpu_signature(cpuinfo))


def wheelhouse() -> Path:
    """Where built wheels are kept: `KB_WHEELHOUSE`, else `~/.kb/wheelhouse`."""
    return Path(os.environ.get("KB_WHEELHOUSE", Path.home() / ".kb" / "wheelhouse"))


def cached_wheel(plan: BuildPlan) -> Path | None:
    """The wheel built before for this plan, or None."""
    folder = wheelhouse() / f"llama-cpp-python-{VERSION}-{plan.backend}-{plan.key}"
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    return wheels[0] if wheels else None


def compile_wheel(plan: BuildPlan, pip: str) -> Path:
    """Compile the wheel for this plan with pip and keep it in the wheelhouse."""
    folder = wheelhouse() / f"llama-cpp-python-{VERSION}-{plan.backend}-{plan.key}"
    minutes = COMPILE_MINUTES[plan.backend]
    print(
        f"kb: compiling llama-cpp-python {VERSION}, {plan.describe}: usually {minutes} minutes "
        f"on 2 cores, once per machine (kept in {folder})",
        flush=True,
    )
    env = dict(os.environ, CMAKE_ARGS=plan.cmake_args, FORCE_CMAKE="1")
    if plan.cflags:
        env["CFLAGS"] = f"{env.get('CFLAGS', '')} {plan.cflags}".strip()
        env["CXXFLAGS"] = f"{env.get('CXXFLAGS', '')} {plan.cflags}".strip()
    staging = Path(tempfile.mkdtemp(prefix="llama-wheel-", dir=wheelhouse()))
    # --no-cache-dir: pip's cache is keyed by the source only, so it would hand back a wheel
    # built with other flags (an AMX build, say).
    command = [
        pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-cache-dir",
        "--no-binary",
        "llama-cpp-python",
        f"llama-cpp-python=={VERSION}",
        "-w",
        str(staging),
    ]
    subprocess.run(command, env=env, check=True)
    built = next(staging.glob("llama_cpp_python-*.whl"))
    check_no_amx(built, plan)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / built.name
    os.replace(built, target)  # atomic: a killed build leaves no half wheel under the key
    shutil.rmtree(staging, ignore_errors=True)
    (folder / "plan.json").write_text(json.dumps(asdict(plan), indent=2) + "\n")
    return target


def count_amx_instructions(library: Path) -> int | None:
    """AMX instructions in a shared library, by objdump; None where objdump is missing."""
    if shutil.which("objdump") is None:
        return None
    listing = subprocess.run(["objdump", "-d", str(library)], capture_output=True, text=True)
    return sum(1 for line in listing.stdout.splitlines() if AMX_INSTRUCTION.search(line))


def check_no_amx(wheel: Path, plan: BuildPlan) -> None:
    """Exit if a build meant to be without AMX still holds AMX instructions."""
    if not plan.cflags:
        return
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if Path(n).name.startswith("libggml-cpu")]
        for name in names:
            count = count_amx_instructions(Path(archive.extract(name, tmp)))
            if count:
                sys.exit(
                    f"kb: the build still holds {count} AMX instructions in {name}; "
                    "it would crash on this CPU. Report this with `kb doctor` output."
                )


def main(argv: list[str] | None = None) -> None:
    """Install llama-cpp-python: the wheel for this machine, compiled first if not kept."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pip", default=str(Path(sys.executable).with_name("pip")))
    parser.add_argument(
        "--rebuild", action="store_true", help="compile again, ignore the wheelhouse"
    )
    parser.add_argument("--plan", action="store_true", help="print the plan as JSON and stop")
    args = parser.parse_args(argv)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    plan = plan_build(cpuinfo, platform.system(), cuda_build_possible())
    if args.plan:
        print(json.dumps(dict(asdict(plan), key=plan.key), indent=2))
        return
    wheel = None if args.rebuild else cached_wheel(plan)
    if wheel is None:
        wheelhouse().mkdir(parents=True, exist_ok=True)
        wheel = compile_wheel(plan, args.pip)
    else:
        print(f"kb: llama-cpp-python {VERSION} from the wheelhouse ({plan.describe})", flush=True)
    subprocess.run(
        [args.pip, "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], check=True
    )


if __name__ == "__main__":
    main()
