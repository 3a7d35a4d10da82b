"""Does this llama.cpp build run a real prompt on this CPU? Asked in a child process.

A build holding instructions the CPU will not run (AMX tiles on a machine that advertises but
withholds them) kills its process with SIGILL on the first prompt of a few dozen tokens. Asked
in a child, that death becomes a message with the fix, and the server or CLI that asked lives.

It also times the model here, with the threads kb writes with (`cpu_threads`): the first read of
a cold context includes its warm-up, so that read is only the crash check; a second read of a
longer prompt is timed, then writing 16 tokens. What those speeds mean for a question is
`speed`'s business.

A passed probe is remembered in a small JSON file per model file, build, offload setting and
thread count, so it costs seconds once, not on every start. A failed one is not remembered: after
a rebuild the next start asks again. What this module does not do: rebuild anything
(`tools/llama_build.py`).
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.backends.llms.cpu_threads import chosen_threads
from assistant.errors import BackendUnavailableError

PROBE_MIN_PROMPT_TOKENS = 64
PROBE_TIMEOUT_S = 300
REBUILD_FIX = (
    "run `make rebuild-llama` in the kb checkout, or: "
    "CFLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' "
    "CXXFLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' "
    "pip install --force-reinstall --no-deps --no-cache-dir --no-binary llama-cpp-python "
    "llama-cpp-python==0.3.36"
)
PROBE_TEXT = (
    "Open models publish their weights, so anyone can run them on their own hardware, "
    "read how they were trained and change them. Proprietary models are reached through an "
    "API, and their makers decide the price, the limits and what happens to the data sent. "
)


class LlamaBuildError(BackendUnavailableError):
    """llama.cpp cannot run a prompt here: the build does not fit this machine."""


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found: whether a prompt ran, what happened, the fix if not, speeds, layers."""

    ok: bool
    detail: str  # what happened, in words
    fix: str | None = None
    prompt_tokens: int = 0
    prompt_tok_s: float = 0.0
    gen_tok_s: float = 0.0
    layers: int = 0  # the model's layers, as llama.cpp counts them for offload
    gpu_layers: int = 0  # of those, offloaded to the GPU
    threads: int = 0  # the threads it wrote with (0: remembered before they were recorded)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def explain_exit(returncode: int, model: Path, stderr: str) -> ProbeResult:
    """A child's exit status in words. A shell reports a signal as 128 + its number."""
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    if number == signal.SIGILL:
        detail = "llama.cpp crashed with an illegal instruction on this CPU"
        return ProbeResult(False, f"{detail} (reading a prompt with {model.name})", REBUILD_FIX)
    if number:
        detail = f"llama.cpp crashed ({_signal_name(number)}) reading a prompt with {model.name}"
        return ProbeResult(False, detail, REBUILD_FIX)
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
    return ProbeResult(
        False,
        f"llama.cpp could not run {model.name} (exit {returncode}): {last}",
        "check the file with `kb doctor`; if it is intact, " + REBUILD_FIX,
    )


def child_command(model: Path, gpu_layers: int, n_threads: int | None = None) -> list[str]:
    """The command that runs the probe in a child Python process."""
    return [
        sys.executable,
        "-m",
        "assistant.backends.llms.llama_probe",
        str(model),
        str(gpu_layers),
        str(chosen_threads(n_threads)),
    ]


def run_probe(
    model: Path, gpu_layers: int, command: list[str] | None = None, n_threads: int | None = None
) -> ProbeResult:
    """Run the probe in a child process (`command` replaces it in tests)."""
    try:
        done = subprocess.run(
            command or child_command(model, gpu_layers, n_threads),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"llama.cpp took over {PROBE_TIMEOUT_S} s on a short prompt")
    if done.returncode != 0:
        return explain_exit(done.returncode, model, done.stderr)
    return ProbeResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def build_identity() -> str:
    """The installed llama.cpp libraries by name, size and time: changes with every rebuild."""
    import llama_cpp

    package = Path(llama_cpp.__file__).parent
    libraries = sorted(p for p in package.rglob("*") if ".so" in p.name or p.suffix == ".dylib")
    stats = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in libraries]
    return f"{llama_cpp.__version__} {' '.join(stats)}"


def probe_key(model: Path, gpu_layers: int, n_threads: int | None = None) -> str:
    """Names a remembered probe: changes with the model file, the offload setting, the threads
    (a probe timed with one thread says nothing about two) and the build."""
    stat = model.stat()
    threads = chosen_threads(n_threads)
    text = (
        f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{gpu_layers}|{threads}"
        f"|{build_identity()}"
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record(model: Path, gpu_layers: int, cache_dir: Path, n_threads: int | None) -> Path:
    return cache_dir / f"{probe_key(model, gpu_layers, n_threads)}.json"


def recalled_probe(
    model: Path, gpu_layers: int, cache_dir: Path, n_threads: int | None = None
) -> ProbeResult | None:
    """The remembered pass for this model, build and thread count, if there is one."""
    record = _record(model, gpu_layers, cache_dir, n_threads)
    return ProbeResult(**json.loads(record.read_text())) if record.is_file() else None


def probe_cached(
    model: Path, gpu_layers: int, cache_dir: Path, n_threads: int | None = None
) -> ProbeResult:
    """The remembered pass for this model and build, or a fresh probe (a pass is remembered)."""
    recalled = recalled_probe(model, gpu_layers, cache_dir, n_threads)
    if recalled is not None:
        return recalled
    record = _record(model, gpu_layers, cache_dir, n_threads)
    result = run_probe(model, gpu_layers, n_threads=n_threads)
    if result.ok:
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = record.with_suffix(".tmp")
        staging.write_text(json.dumps(asdict(result)))
        staging.replace(record)
    return result


def ensure_llama_runs(
    model: Path, gpu_layers: int, cache_dir: Path, n_threads: int | None = None
) -> ProbeResult:
    """The probe's pass, remembered or fresh; a failure raises `LlamaBuildError` with the fix."""
    result = probe_cached(model, gpu_layers, cache_dir, n_threads)
    if not result.ok:
        raise LlamaBuildError(f"{result.detail}; {result.fix}" if result.fix else result.detail)
    return result


def _probe_here(
    model: Path, gpu_layers: int, threads: int, repeat: int = 4, write: int = 16
) -> ProbeResult:
    """The child's work: load, read a prompt of at least 64 tokens (the crash check), then time
    reading `repeat` x PROBE_TEXT afresh and writing `write` tokens. `bench/llama_build.py`
    asks for a longer prompt and more tokens."""
    from llama_cpp import Llama

    llama = Llama(
        model_path=str(model),
        n_ctx=2048,
        n_gpu_layers=gpu_layers,
        n_threads=threads,
        verbose=False,
    )
    # 2 x PROBE_TEXT: about 110 tokens, past the few dozen an AMX crash needs. This first read
    # of a cold context also pays its warm-up, so it is not the one timed.
    llama.create_completion(PROBE_TEXT * 2, max_tokens=1, temperature=0)
    llama.reset()  # nothing cached: the timed read reads every token
    prompt = PROBE_TEXT * repeat
    tokens = len(llama.tokenize(prompt.encode()))
    started = time.perf_counter()
    llama.create_completion(prompt, max_tokens=1, temperature=0)
    read_s = _since(started)
    started = time.perf_counter()  # the prompt is cached now: this times the writing
    reply: Any = llama.create_completion(prompt, max_tokens=write, temperature=0)
    write_s = _since(started)
    generated = reply["usage"]["completion_tokens"]
    return _result(llama, gpu_layers, threads, (tokens, read_s), (generated, write_s))


def _since(started: float) -> float:
    return max(time.perf_counter() - started, 1e-6)


def _result(
    llama: Any, gpu_layers: int, threads: int, read: tuple[int, float], wrote: tuple[int, float]
) -> ProbeResult:
    """The probe's pass from what it timed: (tokens, seconds) read and written."""
    (tokens, read_s), (generated, write_s) = read, wrote
    arch = llama.metadata.get("general.architecture")
    layers = int(llama.metadata.get(f"{arch}.block_count", 0)) + 1  # + the output layer
    detail = (
        f"read {tokens} prompt tokens at {tokens / read_s:.0f} tok/s, "
        f"wrote {generated} at {generated / write_s:.1f} tok/s "
        f"({threads} thread{'s' if threads != 1 else ''})"
    )
    offloaded = _offloaded_layers(gpu_layers, layers)
    return ProbeResult(
        True, detail, None, tokens, tokens / read_s, generated / write_s, layers, offloaded, threads
    )


def _offloaded_layers(requested: int, layers: int) -> int:
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return 0
    return layers if requested < 0 else min(requested, layers)


def main() -> None:
    """Child entry: `python -m assistant.backends.llms.llama_probe MODEL GPU_LAYERS THREADS
    [REPEAT [WRITE]]`, one JSON line out."""
    model, numbers = Path(sys.argv[1]), [int(arg) for arg in sys.argv[2:]]
    print(json.dumps(asdict(_probe_here(model, *numbers))))


if __name__ == "__main__":
    main()
