"""kb on a real Milvus server: two kb processes share it (impossible with Milvus Lite, one
process per database), and `kb doctor` reports the server and the collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.http_servers import free_port, wait_until_up
from tests.support.fakes import FAKE_SETTINGS
from tests.support.milvus import MilvusTarget, target

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KB = [sys.executable, "-m", "tests.support.fake_kb"]


@pytest.fixture
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> MilvusTarget:
    return target("milvus-server", request, tmp_path)


def _env(milvus: MilvusTarget) -> dict[str, str]:
    return {**os.environ, **FAKE_SETTINGS, **milvus.env, "PYTHONPATH": str(ROOT)}


def _kb(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*KB, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def _doctor(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """`kb doctor --json`'s report (its exit code says no here: this folder has no chat model)."""
    done = subprocess.run(
        [*KB, "doctor", "--json", "--no-probe"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@contextmanager
def _page(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """`kb serve` in its own process; yields its URL."""
    port = free_port()
    with open(folder / "page.log", "wb") as log:
        page = subprocess.Popen(
            [*KB, "-v", "serve", "--port", str(port)], cwd=folder, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/", page)
        yield url
    finally:
        page.terminate()
        page.wait(timeout=30)


def _passages(url: str, question: str) -> list[dict[str, Any]]:
    """The passages the page's API answered `question` from."""
    body = {"model": "kb-fake", "messages": [{"role": "user", "content": question}]}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        passages: list[dict[str, Any]] = json.load(reply)["kb"]["passages"]
    return passages


def _write(folder: Path, name: str, text: str) -> None:
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / name).write_text(text)


def test_a_page_and_an_ingest_in_two_processes_share_the_server(
    shared: MilvusTarget, tmp_path: Path
) -> None:
    env = _env(shared)
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha covers zebra licences and open weights.\n")
    _kb(tmp_path, env, "ingest", "docs")
    with _page(tmp_path, env) as url:
        assert [p["source"] for p in _passages(url, "zebra licences")][:1] == ["docs/a.md"]
        # Another process ingests while the page runs: both hold the collection open.
        _write(tmp_path, "b.md", "# Bravo\n\nBravo covers quokka hosting costs.\n")
        _kb(tmp_path, env, "ingest", "docs")
        found = _passages(url, "quokka hosting costs")
        assert found and found[0]["source"] == "docs/b.md", found
        _write(tmp_path, "a.md", "# Alpha\n\nAlpha now covers privacy on premises.\n")
        _kb(tmp_path, env, "ingest", "docs")
        changed = _passages(url, "privacy on premises")
        assert changed and changed[0]["source"] == "docs/a.md", changed
    log = (tmp_path / "page.log").read_text(errors="replace")
    assert "switched by another process" in log and "Traceback" not in log, log


def test_kb_doctor_shows_the_server_version_and_rows(shared: MilvusTarget, tmp_path: Path) -> None:
    env = _env(shared)
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha covers zebra licences.\n\n## More\n\nAnd more.\n")
    _write(tmp_path, "b.md", "# Bravo\n\nBravo covers quokka hosting.\n")
    _kb(tmp_path, env, "ingest", "docs")

    def store() -> dict[str, Any]:
        report = _doctor(tmp_path, env)
        return dict(report["index"]["store"]) | {"chunks": report["index"]["manifest"]["chunks"]}

    first = store()
    assert first["kind"] == "milvus" and first["uri"] == shared.uri
    assert first["server_version"].startswith("v2.")
    assert first["rows"] == first["searchable"] == first["chunks"] > 0
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha now covers privacy.\n")
    _kb(tmp_path, env, "ingest", "docs")
    second = store()  # a's old rows are hidden, deleted one generation later
    assert second["searchable"] == second["chunks"] < second["rows"]
    print(f"\nkb doctor, index.store: {first}\nafter an update: {second}")


def test_kb_doctor_names_a_server_that_is_down(shared: MilvusTarget, tmp_path: Path) -> None:
    down = MilvusTarget(f"http://127.0.0.1:{free_port()}", shared.collection)
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha covers zebra licences.\n")
    _kb(tmp_path, _env(shared), "ingest", "docs")
    generation = next((tmp_path / ".kb" / "index").glob("gen-*"))
    saved = generation / "vectors.milvus.json"
    saved.write_text(json.dumps(json.loads(saved.read_text()) | {"uri": down.uri}))
    store = _doctor(tmp_path, _env(down))["index"]["store"]
    assert store["ok"] is False and "is the Milvus server running" in store["error"], store
