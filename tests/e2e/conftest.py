"""The real app on loopback: `app.py` in a subprocess over a fresh index of the corpus, built
with the real embedder, answering with the real default GGUF."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS
from harness.http_servers import free_port, wait_until_up
from tests.conftest import MODEL_DIR, ROOT, require


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    work = tmp_path_factory.mktemp("web")
    env = {
        **os.environ,
        "KB_INDEX__DIR": str(work / "index"),
        "KB_WEB__UPLOAD_DIR": str(work / "uploads"),
        "KB_WEB__CONVERSATIONS_DB": str(work / "conversations.sqlite3"),
        "KB_FEEDBACK__DB": str(work / "feedback.sqlite3"),
        "KB_AUDIT__DIR": str(work / "audit"),
        "KB_LLM__MODEL_DIR": str(MODEL_DIR),
        # A hosted profile whose server is down: the page must fall back and say so.
        "KB_PROFILES__LAB__KIND": "openai",
        "KB_PROFILES__LAB__LABEL": "Hosted: lab server",
        "KB_PROFILES__LAB__MODEL": "lab-model",
        "KB_PROFILES__LAB__BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "KB_PROFILES__LAB__MAX_RETRIES": "0",
        "KB_LLM__FALLBACK": '["local-small"]',
    }
    kb = [sys.executable, "-m", "assistant", "ingest"]
    subprocess.run(kb, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return env


@contextmanager
def running_app(
    env: dict[str, str], log_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`app.py` on a free loopback port with `env`, its output in `log_path`: (url, process)."""
    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(url, server)
            yield url, server
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def app_url(app_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(app_env, tmp_path_factory.mktemp("log") / "app.log") as (url, _):
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    require(importlib.util.find_spec("playwright") is not None, "playwright not installed")
    require(CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh browser tab on the running page, once it has loaded its documents."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.goto(app_url)
    tab.wait_for_selector("#kb-status :text('documents')")
    yield tab
    context.close()
