"""A loopback HTTP server that serves files from one folder, recording the paths asked for:
a stand-in for the Hugging Face hub (`HF_ENDPOINT`) and plain HTTPS model downloads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from harness.http_servers import loopback_server


class _Quiet(SimpleHTTPRequestHandler):
    asked: list[str]

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        super().do_GET()


@contextmanager
def file_server(folder: Path, asked: list[str]) -> Iterator[str]:
    """Serve `folder` on loopback; yield the base URL."""
    handler = type("Handler", (_Quiet,), {"asked": asked})
    with loopback_server(partial(handler, directory=str(folder))) as port:  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}"
