"""The web page on loopback answers through its API (gradio_client), with sources."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.frontends.web import build_web_ui, launch
from tests.unit.assistant.conftest import make_assistant, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def page_url(retriever, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]  # noqa: F811
    page = build_web_ui(make_assistant(retriever))
    port = _free_port()
    launch(page, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    page.close()


def test_page_answers_with_sources(page_url: str) -> None:
    from gradio_client import Client

    client = Client(page_url, verbose=False)
    reply = client.predict(message="Is self-hosting cheaper at high volumes?", api_name="/respond")
    assert "[1]" in reply and "**Sources**" in reply
    assert "docs/costs.md" in reply or "docs/scale.md" in reply
    assert "fake · scripted" in reply  # which backend and model answered
