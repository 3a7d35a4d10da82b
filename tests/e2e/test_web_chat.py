"""The page on loopback (fakes behind it) answers through its API, `/ask`, via gradio_client."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.frontends.web.page import build_web_ui
from assistant.frontends.web.server import launch
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def page_url(retriever, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]  # noqa: F811
    parts = make_page_parts(retriever, tmp_path / "uploads")
    port = free_port()
    server = launch(build_web_ui(parts), parts, "127.0.0.1", port, block=False)
    assert server is not None
    yield f"http://127.0.0.1:{port}/"
    server.close()


def test_api_answers_with_citations_and_backend(page_url: str) -> None:
    from gradio_client import Client

    client = Client(page_url, verbose=False)
    reply = client.predict("Is self-hosting cheaper at high volumes?", "fake-2", api_name="/ask")
    assert reply["model"] == "scripted-2" and reply["backend"] == "fake"
    assert reply["citations"] and reply["citations"][0]["source"].startswith("docs/")
    assert "[1]" in reply["answer"]
