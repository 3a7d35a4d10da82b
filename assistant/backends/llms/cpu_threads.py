"""How many threads a local model writes with: one per physical core this process may use.

Left unset, llama-cpp-python writes with `cpu_count() // 2` threads, guessing two hardware
threads per core. On a 2-core machine without SMT (most cloud VMs, this project's CI) that is
one thread, and a model writes far slower with one thread than with two (docs/benchmarks.md,
"The chat models on the CPU"). Counted instead: the CPUs this process may run on (its
affinity), one per physical core (`/proc/cpuinfo`'s core ids), and no more than a container's
CPU quota (cgroup v2 `cpu.max`).
Reading the prompt keeps llama-cpp-python's own default (every logical CPU).
"""

from __future__ import annotations

import math
import os
from functools import cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _allowed_cpus() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def physical_cores(cpuinfo: str, allowed: set[int]) -> int | None:
    """Distinct (package, core) pairs among the `allowed` processors; None when `cpuinfo` does
    not say (not Linux, or no core ids, as on some ARM kernels)."""
    cores = set()
    for block in cpuinfo.split("\n\n"):
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in block.splitlines())
        )
        if "processor" not in fields or "core id" not in fields:
            continue
        if fields["processor"].isdigit() and int(fields["processor"]) in allowed:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores) or None


def cpu_quota(cpu_max: str) -> int | None:
    """The CPUs a cgroup v2 `cpu.max` line allows, rounded up; None when unlimited."""
    parts = cpu_max.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        return max(1, math.ceil(int(parts[0]) / int(parts[1])))
    except (ValueError, ZeroDivisionError):
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@cache  # read once per process: every local model and probe key asks
def writing_threads() -> int:
    """Threads to write with here: physical cores this process may use, within its quota."""
    allowed = _allowed_cpus()
    cores = physical_cores(_read(CPUINFO), allowed) or len(allowed)
    quota = cpu_quota(_read(CPU_MAX))
    return max(1, min(cores, quota) if quota else cores)


def chosen_threads(setting: int | None) -> int:
    """The threads a local model writes (and its probe times) with: the setting
    (`llm.n_threads`), else `writing_threads()`."""
    return setting or writing_threads()
