"""A local model server's models and context window, against stand-ins on loopback shaped like
Ollama's, vLLM's, llama.cpp's llama-server's and LM Studio's APIs (none of those servers can be
installed here; tests/integration/test_hosted_llama_server.py runs a real llama_cpp.server):
what `check_server`, `kb doctor` and `kb models list` report, the Ollama advice, and the
warning when a reply's prompt count shows the server cut kb's prompt."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from assistant.backends.llms.base import Message, Usage, complete
from assistant.backends.llms.hosted import (
    HostedConfig,
    OpenAICompatibleChatModel,
    warn_if_truncated,
)
from assistant.backends.local_servers import check_server, suggested_window
from assistant.backends.profile_report import describe_profiles
from assistant.doctor import render
from assistant.errors import BackendError
from assistant.frontends.cli.main import run
from assistant.settings import Settings
from assistant.settings_profiles import ProfileSettings
from harness.http_servers import free_port

NEEDED = 4096
QWEN = {"id": "qwen2.5:7b", "object": "model", "owned_by": "library"}
LLAMA = {"id": "llama3.2:latest", "object": "model", "owned_by": "library"}


def ollama(
    version: str = "0.6.5", num_ctx: int | None = None, loaded: int | None = None
) -> dict[str, Any]:
    """Routes of an Ollama server serving qwen2.5:7b and llama3.2."""
    parameters = 'stop "<|im_end|>"' + (
        f"\nnum_ctx                        {num_ctx}" if num_ctx else ""
    )
    running = (
        [{"name": "qwen2.5:7b", "model": "qwen2.5:7b", "context_length": loaded}] if loaded else []
    )
    return {
        "GET /v1/models": {"object": "list", "data": [QWEN, LLAMA]},
        "GET /api/version": {"version": version},
        "GET /api/ps": {"models": running},
        "POST /api/show": {
            "parameters": parameters,
            "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
        },
    }


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [choice],
    }


def _stream(prompt_tokens: int) -> list[dict[str, Any]]:
    """A streamed chat reply whose last chunk reports `prompt_tokens`, as Ollama's does."""
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": 2,
        "total_tokens": prompt_tokens + 2,
    }
    last = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": []}
    return [
        _chunk({"role": "assistant", "content": "OK"}),
        _chunk({}, "stop"),
        last | {"usage": usage},
    ]


class _Server(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Any]] = {}

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = self.routes.get(f"{method} {self.path}")
        status = 200
        if isinstance(body, tuple):  # (status, body): an error the server answers
            status, body = body
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(status)
        if isinstance(body, list):  # a chat stream
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in body:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def stand_in(routes: dict[str, Any]) -> Iterator[str]:
    """A server on loopback answering `routes` ("METHOD /path" -> JSON, a list: a chat
    stream, or (status, JSON)) and 404 to anything else; yields its /v1 URL."""
    handler = type("Routes", (_Server,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _profile(url: str, model: str | None = "qwen2.5:7b") -> ProfileSettings:
    return ProfileSettings(kind="local-server", base_url=url, model=model)


def test_ollama_with_its_default_window_gets_the_advice() -> None:
    with stand_in(ollama("0.6.5")) as url:
        checked = check_server(_profile(url), NEEDED)
    assert checked.reachable and checked.models == ("qwen2.5:7b", "llama3.2:latest")
    assert checked.model_present and checked.window == 2048 and checked.fits is False
    assert "Ollama 0.6.5's default" in (checked.window_source or "")
    advice = checked.advice or ""
    assert "OLLAMA_CONTEXT_LENGTH=8192 ollama serve" in advice
    assert "FROM qwen2.5:7b" in advice and "PARAMETER num_ctx 8192" in advice
    assert "ollama create qwen2.5-8k -f Modelfile" in advice
    with stand_in(ollama("0.6.7")) as url:  # the default became 4096: enough for kb
        newer = check_server(_profile(url), NEEDED)
    assert newer.window == 4096 and newer.fits and newer.advice is None


def test_ollama_windows_from_the_model_and_from_the_loaded_model() -> None:
    with stand_in(ollama(num_ctx=3000)) as url:
        modelfile = check_server(_profile(url), NEEDED)
    assert modelfile.window == 3000 and "num_ctx" in (modelfile.window_source or "")
    assert not modelfile.fits and "PARAMETER num_ctx 8192" in (modelfile.advice or "")
    with stand_in(ollama(num_ctx=3000, loaded=16384)) as url:  # what it runs with wins
        loaded = check_server(_profile(url), NEEDED)
    assert loaded.window == 16384 and "/api/ps" in (loaded.window_source or "")
    assert loaded.fits and loaded.advice is None


def test_a_missing_model_and_an_untagged_name() -> None:
    with stand_in(ollama()) as url:
        missing = check_server(_profile(url, "mistral:7b"), NEEDED)
        untagged = check_server(_profile(url, "llama3.2"), NEEDED)  # Ollama's :latest
        unset = check_server(_profile(url, None), NEEDED)
    assert missing.model_present is False and missing.window is None
    assert "no model 'mistral:7b'" in (missing.advice or "") and "ollama pull" in (
        missing.advice or ""
    )
    assert untagged.model_present and untagged.window == 2048
    assert unset.model_present is None and "qwen2.5:7b, llama3.2:latest" in (unset.advice or "")


def test_vllm_llama_server_lm_studio_and_a_server_that_does_not_say() -> None:
    vllm = {"GET /v1/models": {"data": [{"id": "Qwen/Qwen2.5-7B", "max_model_len": 32768}]}}
    props = {
        "GET /v1/models": {"data": [{"id": "qwen"}]},
        "GET /props": {"default_generation_settings": {"n_ctx": 2048}},
    }
    lmstudio = {
        "GET /v1/models": {"data": [{"id": "qwen"}]},
        "GET /api/v0/models/qwen": {"id": "qwen", "loaded_context_length": 8192},
    }
    silent = {"GET /v1/models": {"data": [{"id": "qwen", "owned_by": "me"}]}}
    with stand_in(vllm) as url:
        big = check_server(_profile(url, "Qwen/Qwen2.5-7B"), NEEDED)
    with stand_in(props) as url:
        small = check_server(_profile(url, "qwen"), NEEDED)
    with stand_in(lmstudio) as url:
        studio = check_server(_profile(url, "qwen"), NEEDED)
    with stand_in(silent) as url:
        unknown = check_server(_profile(url, "qwen"), NEEDED)
    assert big.window == 32768 and "max_model_len" in (big.window_source or "") and big.fits
    assert small.window == 2048 and "/props" in (small.window_source or "") and not small.fits
    assert "-c 8192" in (small.advice or "") and "OLLAMA" not in (small.advice or "")
    assert studio.window == 8192 and "LM Studio" in (studio.window_source or "")
    assert unknown.window is None and unknown.fits is None
    assert "--n_ctx 4096" in (unknown.advice or "")


def test_a_server_that_is_not_there() -> None:
    checked = check_server(_profile(f"http://127.0.0.1:{free_port()}/v1"), NEEDED)
    assert not checked.reachable and "not reachable" in (checked.error or "")
    assert checked.as_dict() == {
        "url": checked.url,
        "reachable": False,
        "needed": NEEDED,
        "error": checked.error,
        "models": [],
    }
    assert suggested_window(4096) == 8192 and suggested_window(9000) == 16384


def test_doctor_shows_a_configured_server_and_skips_unchosen_presets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import assistant.backends.profile_report as profile_report

    monkeypatch.chdir(tmp_path)
    probed: list[str] = []  # the one-token probe of every profile is not under test here
    monkeypatch.setattr(profile_report, "probe", lambda name, *_: probed.append(name) or {})
    with stand_in(ollama()) as url:
        monkeypatch.setenv("KB_PROFILES__OLLAMA__BASE_URL", url)
        monkeypatch.setenv("KB_PROFILES__OLLAMA__MODEL", "qwen2.5:7b")
        report = describe_profiles(Settings())
    shown = report["ollama"]
    server = shown["server"]
    assert "ollama" in probed and shown["configured"] is True and shown["local"] is True
    assert isinstance(server, dict) and server["models"] == ["qwen2.5:7b", "llama3.2:latest"]
    assert server["window"] == 2048 and server["fits"] is False and server["needed"] == 4096
    assert "OLLAMA_CONTEXT_LENGTH=8192" in str(server["advice"])
    assert "server" not in report["lmstudio"] and report["lmstudio"]["configured"] is False
    text = render({"profiles": report})
    assert (
        "      window: 2048" in text and "      models: ['qwen2.5:7b', 'llama3.2:latest']" in text
    )


def test_models_list_shows_what_each_server_offers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_LLM__MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("KB_PROFILES__LMSTUDIO__MODEL", "qwen")  # chosen, but not running
    monkeypatch.setenv("KB_PROFILES__LMSTUDIO__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    with stand_in(ollama()) as url:
        monkeypatch.setenv("KB_PROFILES__OLLAMA__BASE_URL", url)  # answers, though not chosen
        assert run(["models", "list", "--no-hash"]) == 0
        table = capsys.readouterr().out
        assert run(["models", "list", "--no-hash", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
    assert f"ollama    {url}" in table and "qwen2.5:7b, llama3.2:latest" in table
    assert "lmstudio" in table and "not reachable" in table
    served = {row["name"]: row for row in rows if row.get("kind") == "local-server"}
    assert (
        served["ollama:qwen2.5:7b"]["model"] == "qwen2.5:7b"
        and served["ollama:qwen2.5:7b"]["bytes"] is None
    )
    assert "not reachable" in served["lmstudio"]["error"]
    assert "vllm" not in {row.get("profile") for row in rows}  # an unchosen preset, not running


def _long_prompt(tokens: int) -> list[Message]:
    return [{"role": "user", "content": "word " * (tokens * 4 // 5)}]  # 4 characters a token


def test_the_truncation_rule() -> None:
    config = HostedConfig("ollama", "qwen2.5:7b", "http://127.0.0.1:11434/v1", None, None)
    assert warn_if_truncated(config, _long_prompt(5000), 2048)  # 41% of what kb sent
    assert not warn_if_truncated(config, _long_prompt(5000), 3100)  # 62%: tokenizers differ
    assert not warn_if_truncated(config, _long_prompt(900), 100)  # short prompts: not judged


def test_a_reply_from_a_cut_prompt_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    usages: list[Usage] = []
    with stand_in({"POST /v1/chat/completions": _stream(2048)}) as url:
        config = HostedConfig("ollama", "qwen2.5:7b", url, None, None, 10, 0)
        model = OpenAICompatibleChatModel(config)
        with caplog.at_level(logging.WARNING, "assistant.backends.llms.hosted"):
            list(
                model.stream(
                    _long_prompt(5000), max_tokens=8, temperature=0, on_usage=usages.append
                )
            )
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        caplog.clear()
        with caplog.at_level(logging.WARNING, "assistant.backends.llms.hosted"):
            assert complete(model, _long_prompt(1800), max_tokens=8) == "OK"  # fits: no word
    assert usages == [Usage(2048, 2)]
    assert len(warned) == 1 and "ollama" in warned[0] and "read 2048 prompt tokens" in warned[0]
    assert "OLLAMA_CONTEXT_LENGTH=8192" in warned[0]
    assert not caplog.records


def test_a_prompt_the_server_refuses_as_too_long_says_its_window() -> None:
    refusal = {
        "error": {
            "message": "This model's maximum context length is 2048 tokens. However, you "
            "requested 5008 tokens (5000 in the messages, 8 in the completion).",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    with stand_in({"POST /v1/chat/completions": (400, refusal)}) as url:
        model = OpenAICompatibleChatModel(HostedConfig("vllm", "m", url, None, None, 10, 0))
        with pytest.raises(BackendError) as raised:
            complete(model, _long_prompt(5000), max_tokens=8)
        with stand_in({"POST /v1/chat/completions": (400, {"error": {"message": "bad"}})}) as other:
            plain = OpenAICompatibleChatModel(HostedConfig("vllm", "m", other, None, None, 10, 0))
            with pytest.raises(BackendError) as bad:
                complete(plain, _long_prompt(10), max_tokens=8)
    assert "does not fit the server's 2048-token context window" in str(raised.value)
    assert str(bad.value).endswith("answered HTTP 400")
