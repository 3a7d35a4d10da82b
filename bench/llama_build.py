"""How fast each llama.cpp build reads a prompt and writes tokens here, and whether it runs at all.

One run compares the installed build (`make install`: native, AMX off unless proven usable)
with variants compiled into `.kb/bench-builds/` the first time:
- `native-amx`: pip's plain build (`-march=native`, AMX included), what `make install` made before;
- `portable`: `-DGGML_NATIVE=OFF`, llama.cpp's generic x86-64 build (no AVX-512, no VNNI).
Each build runs the probe child (`assistant.backends.llms.llama_probe`) on each local model: a prompt of
about 1,000 tokens, then 32 tokens written, best of `--repeats`; a crash is reported as such.
Writes the "llama-build" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from assistant.backends.llms.llama_probe import ProbeResult, child_command, explain_exit
from bench.report import write_section
from tools import llama_build

ROOT = Path(__file__).resolve().parent.parent

BUILDS = ROOT / ".kb" / "bench-builds"
VARIANTS = {"native-amx": ("", ""), "portable": ("-DGGML_NATIVE=OFF", "")}
PROMPT_REPEAT, WRITE_TOKENS = 18, 32  # about 1,000 prompt tokens


def variant_dir(name: str) -> Path:
    """The variant's llama_cpp package, compiled and installed with `--target` once."""
    target = BUILDS / name
    if (target / "llama_cpp").is_dir():
        return target
    cmake_args, cflags = VARIANTS[name]
    cpuinfo = Path("/proc/cpuinfo").read_text()
    plan = llama_build.BuildPlan(
        "cpu", cmake_args, cflags, name, llama_build.cpu_signature(cpuinfo)
    )
    os.environ["KB_WHEELHOUSE"] = str(BUILDS / "wheels")
    llama_build.wheelhouse().mkdir(parents=True, exist_ok=True)
    wheel = llama_build.cached_wheel(plan) or llama_build.compile_wheel(plan, _pip())
    subprocess.run(
        [_pip(), "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    return target


def _pip() -> str:
    return str(Path(sys.executable).with_name("pip"))


def measure(model: Path, package_dir: Path | None, repeats: int) -> ProbeResult:
    env = dict(os.environ)
    if package_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package_dir), str(ROOT)])
    command = [*child_command(model, 0), str(PROMPT_REPEAT), str(WRITE_TOKENS)]
    best: ProbeResult | None = None
    for _ in range(repeats):
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            return explain_exit(done.returncode, model, done.stderr)
        result = ProbeResult(**json.loads(done.stdout.strip().splitlines()[-1]))
        if best is None or result.prompt_tok_s > best.prompt_tok_s:
            best = result
    assert best is not None
    return best


def local_models() -> dict[str, Path]:
    from assistant.backends.model_files import assemble_default_model
    from assistant.backends.profiles import SMOLLM2_ID, smollm2_path

    models = {"Qwen2.5-Coder-0.5B Q4_K_M": assemble_default_model(ROOT / ".kb" / "models")}
    small = smollm2_path()
    if small is not None:
        models[SMOLLM2_ID] = small
    return models


def row(build: str, model: str, result: ProbeResult) -> str:
    if not result.ok:
        return f"| {build} | {model} | crashed: {result.detail} | | |"
    return (
        f"| {build} | {model} | ran | {result.prompt_tok_s:.0f} "
        f"({result.prompt_tokens} tokens) | {result.gen_tok_s:.1f} |"
    )


def render(rows: list[str], plan: llama_build.BuildPlan) -> str:
    today = datetime.date.today().isoformat()
    cpu = platform.processor() or platform.machine()
    return "\n".join(
        [
            f"## llama.cpp builds on this CPU (`bench/llama_build.py`, {today}, {cpu}, "
            f"{os.cpu_count()} cores, no GPU)",
            "",
            f"Installed build: {plan.describe}. Each build runs the probe child on a prompt of about "
            "1,000 tokens, then writes 32 tokens; best of the repeats.",
            "",
            "| build | model | result | prompt tok/s | written tok/s |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    builds: dict[str, Path | None] = {"installed (AMX off)": None}
    builds.update({name: variant_dir(name) for name in args.variants})
    rows = []
    for build, package in builds.items():
        for model, path in local_models().items():
            rows.append(row(build, model, measure(path, package, args.repeats)))
            print(rows[-1], flush=True)
    cpuinfo = Path("/proc/cpuinfo").read_text()
    plan = llama_build.plan_build(cpuinfo, platform.system(), llama_build.cuda_build_possible())
    write_section("llama-build", render(rows, plan))


if __name__ == "__main__":
    main()
