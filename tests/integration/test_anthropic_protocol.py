"""The Anthropic backend against a loopback server replaying a recorded Messages API stream.

No Anthropic server runs offline: `harness/http_servers.ANTHROPIC_STREAM` is a
recorded protocol fixture (the documented server-sent events of one streamed reply). What is
real: the `anthropic` SDK, HTTP on loopback, kb's request shape, streaming and error handling.
"""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from assistant.backends.llms.base import Usage
from assistant.backends.llms.hosted import AnthropicChatModel, HostedConfig
from assistant.errors import BackendError
from harness.http_servers import Script, serve

pytestmark = pytest.mark.integration

KEY = "sk-ant-test-DO-NOT-LEAK-abcdef0123456789"
MESSAGES = [
    {"role": "system", "content": "Answer from the context only."},
    {"role": "user", "content": "Is self-hosting cheaper?"},
]


def _model(url: str) -> AnthropicChatModel:
    config = HostedConfig(
        "anthropic", "claude-haiku-4-5", url, SecretStr(KEY), "ANTHROPIC_API_KEY", 5, 0
    )
    return AnthropicChatModel(config)


def test_streams_text_reports_usage_and_sends_system_apart() -> None:
    script = Script()
    usages: list[Usage] = []
    with serve(script, anthropic=True) as url:
        pieces = list(
            _model(url).stream(MESSAGES, max_tokens=64, temperature=0.1, on_usage=usages.append)  # type: ignore[arg-type]
        )
    assert pieces == ["Self-hosting is ", "cheaper at very high volumes."]
    assert usages == [Usage(57, 9)]
    sent = script.requests[0]
    assert sent["system"] == "Answer from the context only." and sent["stream"] is True
    assert sent["messages"] == [{"role": "user", "content": "Is self-hosting cheaper?"}]
    assert script.headers[0]["authorization"] == f"Bearer {KEY}"  # how SDK 2.x sends it


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "rejected the API key (HTTP 401); check ANTHROPIC_API_KEY"),
        (529, "answered HTTP 529"),
    ],
)
def test_errors_name_the_problem_not_the_key(
    status: int, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve(Script(status=status), anthropic=True) as url, pytest.raises(BackendError) as failed:
        list(_model(url).stream(MESSAGES, max_tokens=64, temperature=0.1))  # type: ignore[arg-type]
    assert message in str(failed.value)
    assert KEY not in str(failed.value) and KEY not in caplog.text
