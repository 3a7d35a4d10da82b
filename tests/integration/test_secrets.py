"""Secrets never leak: fake but realistic keys and tokens in the environment and in `.env`,
then everything kb says is captured (stdout, stderr, log records at DEBUG, in-process and in
`kb` subprocesses, what the web page serves, what the Slack bot posts) and searched for them.

The hosted servers here are hostile on purpose: their error bodies echo the key they were sent,
as some OpenAI-compatible servers do. Each test also checks the secrets were really used (the
servers saw them), so a clean capture means "not leaked", not "never read". Fakes stand in
where the models are not the point: the hashing embedder and the scripted chat model.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.backends.llms.hosted import (
    AnthropicChatModel,
    HostedConfig,
    OpenAICompatibleChatModel,
    redact_url,
)
from assistant.errors import BackendError
from assistant.frontends.cli.main import run
from assistant.settings import Settings
from harness.http_servers import loopback_server
from tests.conftest import ROOT, milvus_available, require

pytestmark = pytest.mark.integration

IN_ENVIRONMENT = {
    "OPENAI_API_KEY": "sk-test-4f9KqZ2mVbX7pL1sR8tY3wN6cH0dJ5eAT3BlbkFJ",
    "SLACK_BOT_TOKEN": "xoxb-271828182845-904523536028-AbCdEfGhIjKlMnOpQrStUvWx",
    "KB_MILVUS_TOKEN": "root:Milvus-test-9c8b7a6f5e4d3c2b1a0f",
}
API_TOKENS = ("api-token-one-3f2a9b7e1d", "api-token-two-8c7d6e5f4a")
IN_DOTENV = {
    "ANTHROPIC_API_KEY": "sk-ant-test-Xy7Qw2Er4Ty6Ui8Op0As1Df3Gh5Jk7Lz9Xc-q1w2e3AA",
    "SLACK_APP_TOKEN": "xapp-1-A0314159265-3589793238462-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99edfe2a41c1",
    "KB_WEB__PASSWORD": "hunter2-correct-horse-battery-staple",
    "KB_API__TOKENS": f"{API_TOKENS[0]}, {API_TOKENS[1]}",
}
# .env values the environment overrides: read by nothing, so they must surface nowhere either
SHADOWED = {"OPENAI_API_KEY": "sk-test-shadowed-in-dotenv-7d3e9a1b5c"}
# a password some users put in a server's URL (KB_PROFILES__LAB__BASE_URL below)
URL_PASSWORD = "lab-url-password-6b1d0c4e2f"
SECRETS = {
    **IN_ENVIRONMENT,
    **IN_DOTENV,
    "OPENAI_API_KEY (.env)": SHADOWED["OPENAI_API_KEY"],
    "the password in a base_url": URL_PASSWORD,
    **{f"API token {n}": token for n, token in enumerate(API_TOKENS, start=1)},
}
QUESTION = "Is self-hosting cheaper at high volumes?"


def assert_clean(where: str, text: str, secrets: dict[str, str] = SECRETS) -> None:
    """No secret, nor its first or last 12 characters, in `text`."""
    for name, value in secrets.items():
        for needle in (value, value[:12], value[-12:]):
            at = text.find(needle)
            assert at < 0, f"{name} leaked in {where}: …{text[max(0, at - 80) : at + 80]}…"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hostile:
    """What the fake hosted API answers, and the keys it was sent."""

    status: int
    keys: list[str] = field(default_factory=list)


def _hostile_handler(hostile: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            sent = self.headers.get("x-api-key") or self.headers.get("authorization") or ""
            key = sent.removeprefix("Bearer ")
            hostile.keys.append(key)
            message = f"Incorrect API key provided: {key}. You can find your key at ..."
            body = json.dumps(
                {"type": "error", "error": {"message": message, "type": "invalid_request_error"}}
            ).encode()
            self.send_response(hostile.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("retry-after", "0")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def hostile_api(status: int) -> Iterator[tuple[str, Hostile]]:
    hostile = Hostile(status)
    with loopback_server(_hostile_handler(hostile)) as port:
        yield f"http://127.0.0.1:{port}", hostile


@dataclass
class Workspace:
    path: Path
    openai: Hostile  # answers 401
    anthropic: Hostile  # answers 500

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT)}


def _dotenv() -> str:
    values = {**IN_DOTENV, **SHADOWED}
    return "".join(f"{name}={value}\n" for name, value in values.items())


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A corpus, its index (hashing embedder), `.env`, and hosted profiles on hostile servers."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "costs.md").write_text(
        "# Costs\n\nSelf-hosting open models is cheaper at very high volumes than per-token fees.\n"
    )
    (tmp_path / ".env").write_text(_dotenv())
    with hostile_api(401) as (openai_url, openai), hostile_api(500) as (anthropic_url, anthropic):
        settings = {
            **IN_ENVIRONMENT,
            "KB_EMBEDDER__BACKEND": "hashing",
            "KB_LLM__BACKEND": "fake",
            "KB_LLM__FALLBACK": '["fake"]',
            "KB_PROFILES__FAKE__KIND": "fake",
            "KB_ANSWER__MIN_RELEVANCE": "0.05",
            "KB_PROFILES__LOCAL__KIND": "fake",  # doctor probes every profile: keep it light
            "KB_PROFILES__LOCAL-SMALL__KIND": "fake",
            "KB_PROFILES__OPENAI__BASE_URL": f"{openai_url}/v1",
            "KB_PROFILES__OPENAI__MAX_RETRIES": "0",
            "KB_PROFILES__ANTHROPIC__BASE_URL": anthropic_url,
            "KB_PROFILES__ANTHROPIC__MAX_RETRIES": "0",
            "KB_PROFILES__LAB__KIND": "openai",  # a server that is down
            "KB_PROFILES__LAB__MODEL": "lab-model",
            "KB_PROFILES__LAB__BASE_URL": f"http://kb:{URL_PASSWORD}@127.0.0.1:{free_port()}/v1",
            "KB_PROFILES__LAB__API_KEY_ENV": "OPENAI_API_KEY",
            "KB_PROFILES__LAB__MAX_RETRIES": "0",
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        assert run(["ingest"]) == 0
        yield Workspace(tmp_path, openai, anthropic)


# The real CLI in a fresh process, its root logger at DEBUG (the CLI's own basicConfig is then
# a no-op): third-party loggers (openai, anthropic, httpx, pymilvus) get their say too.
DEBUG_CLI = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, "
    "format='%(levelname)s %(name)s: %(message)s')\n"
    "from assistant.frontends.cli.main import run\n"
    "from tests.support.fakes import install\n"
    "install()\n"
    "sys.exit(run(sys.argv[1:]))\n"
)


def kb(ws: Workspace, *args: str, debug: bool = True) -> subprocess.CompletedProcess[str]:
    entry = ["-c", DEBUG_CLI] if debug else ["-m", "tests.support.fake_kb"]
    done = subprocess.run(
        [sys.executable, *entry, *args],
        cwd=ws.path,
        env=ws.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert_clean(f"`kb {' '.join(args)}` stdout", done.stdout)
    # At DEBUG, openai's client logs each request's URL as configured, password included: the
    # redacting filter kb puts on every log handler removes it (issue 16, item 8).
    assert_clean(f"`kb {' '.join(args)}` stderr", done.stderr, SECRETS)
    return done


def test_doctor_says_which_secrets_are_set_never_their_values(workspace: Workspace) -> None:
    text = kb(workspace, "doctor")
    assert "DEBUG" in text.stderr  # the subprocess really logged at DEBUG
    assert "rejected the API key (HTTP 401); check OPENAI_API_KEY" in text.stdout
    report = json.loads(kb(workspace, "doctor", "--json", debug=False).stdout)
    profiles = report["profiles"]
    assert profiles["openai"]["reachable"] is False and "HTTP 401" in profiles["openai"]["error"]
    assert "HTTP 500" in profiles["anthropic"]["error"]
    assert "cannot reach lab (http://***@127.0.0.1:" in profiles["lab"]["error"]
    assert profiles["lab"]["base_url"].startswith("http://***@127.0.0.1:")
    assert all(report["slack"]["variables_set"].values())  # the .env ones were found
    assert report["api"]["tokens_set"] == 2
    # both keys were sent (the shadowed .env value was not): a clean capture means something
    assert set(workspace.openai.keys) == {IN_ENVIRONMENT["OPENAI_API_KEY"]}
    assert set(workspace.anthropic.keys) == {IN_DOTENV["ANTHROPIC_API_KEY"]}


def test_ask_on_hosted_backends_that_reject_the_key_or_fail(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = json.loads(kb(workspace, "ask", QUESTION, "--backend", "openai", "--json").stdout)
    assert answer["backend"] == "fake" and "rejected the API key" in json.dumps(answer)
    streamed = kb(workspace, "ask", QUESTION, "--backend", "anthropic", debug=False)
    assert streamed.returncode == 0 and "HTTP 500" in streamed.stderr
    monkeypatch.setenv("KB_LLM__FALLBACK", "[]")  # nothing to fall back to: the CLI's error
    failed = kb(workspace, "ask", QUESTION, "--backend", "openai")
    assert failed.returncode == 1 and "kb: error:" in failed.stderr
    assert "check OPENAI_API_KEY" in failed.stderr
    assert workspace.openai.keys and workspace.anthropic.keys


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@h:1/v1", "http://***@h:1/v1"),
        ("https://TOKEN@h/v1", "https://***@h/v1"),
        ("https://h/v1?api-key=k&v=2", "https://h/v1?api-key=***&v=***"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        (None, None),
    ],
)
def test_urls_are_shown_without_credentials(url: str | None, shown: str | None) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("status", [401, 403, 429, 500, None])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_hosted_errors_name_the_variable_not_the_key(
    sdk: str, status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = IN_ENVIRONMENT["OPENAI_API_KEY"] if sdk == "openai" else IN_DOTENV["ANTHROPIC_API_KEY"]
    with hostile_api(status or 500) as (url, hostile):
        if status is None:
            url = f"http://127.0.0.1:{free_port()}"  # nothing listens
        base_url = f"{url}/v1" if sdk == "openai" else url
        config = HostedConfig(sdk, "m", base_url, SecretStr(key), "THE_KEY_ENV", 5, 0)
        model = (OpenAICompatibleChatModel if sdk == "openai" else AnthropicChatModel)(config)
        with pytest.raises(BackendError) as caught:
            list(model.stream([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0))
    error = caught.value
    shown = f"{error}\n{error!r}\n{''.join(traceback.format_exception(error))}"
    assert_clean(f"{sdk} {status} error", shown)
    assert_clean(f"{sdk} {status} logs", caplog.text)
    if status in (401, 403):
        assert "check THE_KEY_ENV" in str(error)
    assert status is None or hostile.keys == [key]


def test_settings_errors_do_not_echo_the_password(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KB_WEB__PORT", "not-a-port")
    monkeypatch.setenv("KB_WEB__USERNAME", "admin")
    assert run(["doctor", "--no-probe"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("kb: error: invalid setting web.port = 'not-a-port'")
    assert_clean("settings error", out + err)
    assert_clean("settings repr", repr(Settings.model_construct()) + str(Settings.model_fields))


def test_a_milvus_cluster_that_is_down_is_reported_without_its_token(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(milvus_available(), "pymilvus not installed (pip install -e '.[milvus]')")
    monkeypatch.setenv("KB_INDEX__STORE", "milvus")
    monkeypatch.setenv("KB_INDEX__MILVUS_URI", f"http://127.0.0.1:{free_port()}")
    done = kb(workspace, "ingest", "--rebuild")
    assert done.returncode == 1 and "cannot open Milvus" in done.stderr


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return str(response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read().decode('utf-8', 'replace')}"


def _api_answer(root: str, token: str) -> str:
    request = urllib.request.Request(
        f"{root}/v1/chat/completions",
        data=json.dumps(
            {"model": "kb-openai", "messages": [{"role": "user", "content": QUESTION}]}
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read().decode('utf-8', 'replace')}"


def test_the_web_page_shows_backends_and_errors_not_keys(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    from assistant.frontends.web import events
    from assistant.frontends.web import page as web
    from assistant.frontends.web import server as web_server

    caplog.set_level(logging.DEBUG)
    parts = web.build_page_parts(Settings())
    page = web.build_web_ui(parts)
    port = free_port()
    access = web_server.api_access(Settings(), "127.0.0.1")
    assert access.tokens == API_TOKENS  # from .env, split at commas
    server = web_server.launch(page, parts, "127.0.0.1", port, block=False, access=access)
    assert server is not None
    try:
        root = f"http://127.0.0.1:{port}"
        dotenv = workspace.path / ".env"
        served = {
            path: _fetch(root + path)
            for path in (
                "/",
                "/config",
                "/gradio_api/info",
                "/gradio_api/file=.env",
                f"/gradio_api/file={dotenv}",
                "/file=.env",
                f"/file={dotenv}",
                "/v1/models",
            )
        }
        served["API answer"] = _api_answer(root, API_TOKENS[1])
    finally:
        server.close()
    for path, body in served.items():
        assert_clean(f"GET {path}", body)
    assert "Hosted: OpenAI" in served["/config"]  # the backend switch lists the hosted profiles
    assert served["/v1/models"].startswith("HTTP 401")  # tokens are set: none sent
    assert '"object":"chat.completion"' in served["API answer"]  # the answer says the key failed
    statuses = [
        events.status_line(parts, c.name) for c in parts.session.pool.choices if c.available
    ]
    *_, (_, chat, _, _) = events.answer_turn(parts, QUESTION, [], events.Conversation("openai"))
    assert "rejected the API key" in chat[-1]["content"]
    assert_clean("status lines", "\n".join(statuses))
    assert_clean("chat", json.dumps(chat))
    assert_clean("web logs", caplog.text)
    assert workspace.openai.keys


def test_the_slack_bot_rejects_a_bad_signature_and_posts_no_secret(
    workspace: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.frontends.slack.app import build_slack_app, http_server
    from assistant.frontends.web import page as web
    from tests.support.slack_api import event_body, signed_headers, slack_api

    caplog.set_level(logging.DEBUG)
    parts = web.build_page_parts(Settings())
    replies: list[str] = []
    with slack_api() as (api_url, recorder):
        monkeypatch.setenv("KB_SLACK__API_BASE_URL", api_url)
        monkeypatch.setenv("KB_SLACK__UPDATE_EVERY_S", "0.01")
        app = build_slack_app(parts.session, Settings())
        server = http_server(app, "127.0.0.1", 0, IN_DOTENV["SLACK_SIGNING_SECRET"])
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"

        def send(
            text: str, n: int, signing_secret: str = IN_DOTENV["SLACK_SIGNING_SECRET"]
        ) -> None:
            event = {"type": "app_mention", "user": "U1", "text": text, "channel": "C1"}
            event |= {"ts": f"1700000000.00010{n}", "thread_ts": "1700000000.000100"}
            body = event_body(event, f"Ev{n}")
            headers = signed_headers(body, signing_secret)
            replies.append(_fetch_request(urllib.request.Request(url, body.encode(), headers)))

        try:
            send("<@UKB> use openai", 0)
            recorder.wait_for(lambda: recorder.of("chat.postMessage"))
            send(f"<@UKB> {QUESTION}", 1)  # in the same thread: asked of openai
            recorder.wait_for(lambda: any(u.get("blocks") for u in recorder.of("chat.update")))
            send("<@UKB> anything", 2, signing_secret="not-the-signing-secret")
        finally:
            server.shutdown()
            serving.join(10)  # closing the socket under a running shutdown raised in its thread
            server.server_close()
    assert replies[0].startswith("HTTP 200") and replies[-1].startswith("HTTP 401")
    posted = json.dumps(recorder.calls)
    assert "now uses *openai*" in posted and "rejected the API key" in posted
    assert_clean("slack replies", "\n".join(replies))
    assert_clean("what the bot posted", posted)
    assert_clean("slack logs", caplog.text)
    assert workspace.openai.keys


def _fetch_request(request: urllib.request.Request) -> str:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return f"HTTP {response.status}: {response.read().decode()}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read().decode()}"
