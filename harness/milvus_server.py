"""A real Milvus standalone server on loopback, for tests and benchmarks.

The `milvus` pip package ships the same server binary a cluster runs (etcd and local storage
embedded), speaking the same gRPC protocol: what passes against it passes against a deployed
Milvus, unlike Milvus Lite, which runs inside the kb process. It picks free ports itself, so
several servers (tests, a benchmark) can run side by side.

    with running_milvus(tmp_path / "milvus") as server:
        MilvusClient(uri=server.uri, token=server.token or "")

Command line: `python -m harness.milvus_server DIR [--auth]` runs one until Ctrl+C (prints its URI).
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT_TOKEN = "root:Milvus"  # the user Milvus creates when authorization is on, and its password
START_TIMEOUT_S = 180


def missing_reason() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if importlib.util.find_spec("milvus") is None:
        return "the Milvus server package is not installed: pip install -e '.[dev]' (milvus==2.3.5)"
    return None


@dataclass(frozen=True)
class RunningMilvus:
    """Where a started server listens, and the token it wants (None without authorization)."""

    uri: str
    token: str | None
    base_dir: Path
    pid: int
    started_in_s: float


@contextmanager
def running_milvus(base_dir: Path, *, auth: bool = False) -> Iterator[RunningMilvus]:
    """Start a server keeping its data and logs in `base_dir`; stop it on exit."""
    server = _server(base_dir, auth)
    began = time.monotonic()
    server.start()
    try:
        server.wait_started(timeout=START_TIMEOUT_S * 1000)
        yield RunningMilvus(
            uri=f"http://127.0.0.1:{server.listen_port}",
            token=ROOT_TOKEN if auth else None,
            base_dir=base_dir,
            pid=server.server_proc.pid,
            started_in_s=time.monotonic() - began,
        )
    finally:
        server.stop()


def _server(base_dir: Path, auth: bool) -> Any:
    from milvus import MilvusServer

    base_dir.mkdir(parents=True, exist_ok=True)
    # wait_for_started=False: `running_milvus` waits, with a timeout, after `start` returns.
    server = MilvusServer(_config_class()(), wait_for_started=False)
    server.set_base_dir(str(base_dir.resolve()))
    server.config.set("authorization_enabled", auth)
    return server


def _config_class() -> type:
    """The package's config, with its embedded etcd on free ports: the package leaves etcd's
    peer port at 2380 (and its client port at the default), so a second server on the machine
    would fail to start, or worse, share the first one's metadata."""
    from milvus import MilvusServerConfig

    class OwnEtcdConfig(MilvusServerConfig):
        def load_template(self) -> None:
            super().load_template()
            path = "{{ etcd_config_path: }}"
            text: str = getattr(self, "template_text")  # noqa: B009 (untyped in milvus)
            self.template_text = text.replace("etcd:\n", f"etcd:\n  config:\n    path: {path}\n", 1)

        def write_config(self) -> None:
            etcd = Path(self.base_data_dir) / "configs" / "etcd.yaml"
            etcd.parent.mkdir(parents=True, exist_ok=True)
            client, peer = (
                f"http://127.0.0.1:{self.get('etcd_port')}",
                f"http://127.0.0.1:{_free_port()}",
            )
            etcd.write_text(
                f"listen-client-urls: {client}\nadvertise-client-urls: {client}\n"
                f"listen-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\n"
                f"initial-cluster: default={peer}\n",
                encoding="utf-8",
            )
            self.configurable_items["etcd_config_path"] = [str, str(etcd)]
            super().write_config()

    return OwnEtcdConfig


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="folder for the server's data and logs")
    parser.add_argument("--auth", action="store_true", help=f"require a token ({ROOT_TOKEN})")
    args = parser.parse_args()
    with running_milvus(args.dir, auth=args.auth) as server:
        print(f"Milvus at {server.uri} (started in {server.started_in_s:.1f} s); Ctrl+C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
