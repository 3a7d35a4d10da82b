"""Shared fixtures: environment isolation, the network guard, the corpus, and `require` (fail
in CI, skip locally)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.milvus_server import RunningMilvus, missing_reason, running_milvus
from tests.support import fakes
from tests.support.network_guard import GUARD, NetworkGuardPlugin

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_000 = CORPUS / "000_f78ef12f1b6dd304.txt"
DEV_SET = ROOT / "eval" / "dev.jsonl"
MODEL_DIR = ROOT / ".kb" / "models"
_CLEARED = ("KB_", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SLACK_")


def pytest_configure(config: pytest.Config) -> None:
    """The fakes are registered (`fake` kind, `hashing` embedder; tests/support/fakes.py).
    The whole session runs under the network guard: any connection or name lookup past
    loopback raises and fails the test (in this process; see tests/support/network_guard.py)."""
    fakes.install()
    if not config.pluginmanager.has_plugin("kb-network-guard"):
        config.pluginmanager.register(NetworkGuardPlugin(GUARD), "kb-network-guard")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KB_* settings or secrets leak in from the developer's shell. kb's home is the working
    directory (KB_HOME=.), so a test's own folder holds its index, .env and kb.yaml; the tests
    of finding a home (tests/unit/assistant/test_home.py) unset it."""
    for name in list(os.environ):
        if name.startswith(_CLEARED):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KB_HOME", ".")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def require(condition: bool, reason: str) -> None:
    """A test that needs a missing part fails in CI (CI=true) and skips locally with the reason."""
    if condition:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def milvus_available() -> bool:
    """pymilvus and Milvus Lite, the `milvus` extra (in `dev` too, so CI always has them)."""
    return all(importlib.util.find_spec(name) for name in ("pymilvus", "milvus_lite"))


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMilvus]:
    """A real Milvus standalone server on loopback for the whole session (about 10 s to start);
    tests keep apart by using a collection each (tests/support/milvus.py)."""
    yield from _milvus(tmp_path_factory, auth=False)


@pytest.fixture(scope="session")
def milvus_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMilvus]:
    """Another, with authorization on: it refuses any call without a user's token."""
    yield from _milvus(tmp_path_factory, auth=True)


def _milvus(factory: pytest.TempPathFactory, auth: bool) -> Iterator[RunningMilvus]:
    reason = missing_reason()
    require(reason is None, reason or "")
    with running_milvus(factory.mktemp("milvus-auth" if auth else "milvus"), auth=auth) as server:
        yield server


def places_held(gate: Any) -> int:
    """How many questions hold a place in a busy gate, seen from outside: the places it still
    gives, taken and given back at once."""
    free = 0
    while gate.take():
        free += 1
    for _ in range(free):
        gate.release()
    return int(gate.limit) - free
