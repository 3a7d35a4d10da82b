"""Real OpenAI-compatible servers on loopback: `python -m llama_cpp.server` processes, for the
server-pool test and benchmark. Each is a child process that the caller may kill (-9) to
play a server that dies mid-answer.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.http_servers import free_port


@dataclass
class LlamaServer:
    """One server process and its API root (`http://127.0.0.1:PORT/v1`)."""

    process: subprocess.Popen[bytes]
    url: str

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients, as a crashed machine."""
        self.process.kill()
        self.process.wait(timeout=30)


def start_llama_server(
    model: Path, alias: str, n_threads: int = 1, n_ctx: int = 4096, timeout_s: float = 120
) -> LlamaServer:
    """Start a server and wait until `GET /models` answers."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--model_alias", alias, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", str(n_ctx), "--n_threads", str(n_threads)]
    command += ["--n_threads_batch", str(n_threads)]
    # its default cuts the running stream short when another request comes: queue instead
    command += ["--interrupt_requests", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = LlamaServer(process, f"http://127.0.0.1:{port}/v1")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2):
                return server
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}") from None
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"llama_cpp.server did not start within {timeout_s:.0f} s")


@contextmanager
def llama_servers(
    model: Path, alias: str, count: int, n_threads: int = 1
) -> Iterator[list[LlamaServer]]:
    """`count` servers of `model`, all stopped on exit (those still running)."""
    servers: list[LlamaServer] = []
    try:
        for _ in range(count):
            servers.append(start_llama_server(model, alias, n_threads))
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
                server.process.wait(timeout=30)
