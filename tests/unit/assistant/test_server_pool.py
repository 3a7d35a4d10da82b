"""A profile over several servers: picking (least outstanding, ties in turn), the circuit
breaker on a fake clock, a restart on another server, and what the answer says of it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.answering.models import Answer, Evidence
from assistant.answering.pipeline import Assistant
from assistant.backends.breaker import ServerPicker
from assistant.backends.fallback import Restart, fixed_chain
from assistant.backends.llms.base import Message, Usage, UsageCallback, complete
from assistant.backends.llms.hosted import OpenAICompatibleChatModel
from assistant.backends.profile_report import (
    check_pool_server,
    describe_profiles,
    servers_report,
)
from assistant.backends.server_pool import ServerPoolChatModel
from assistant.doctor import render
from assistant.errors import BackendError, BackendTimeoutError, BackendUnavailableError
from assistant.settings import Settings
from assistant.telemetry.metrics import METRICS
from harness.http_servers import free_port
from index.retriever import HybridRetriever
from tests.support.fakes import ScriptedChatModel

QUESTION = "Is self-hosting cheaper at high volumes?"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_least_loaded_server_is_picked_and_ties_go_round() -> None:
    picker = ServerPicker(3, cooldown_s=30, clock=Clock())
    assert [picker.acquire() for _ in range(3)] == [0, 1, 2]  # all idle: in turn
    picker.release(1, ok=True)
    assert picker.acquire() == 1  # the only one with nothing in flight
    picker.release(0, ok=True)
    picker.release(2, ok=True)
    assert picker.acquire() == 2  # 0 and 2 idle: the turn after 1 is 2
    assert picker.acquire() == 0


def test_a_failed_server_is_skipped_for_its_cooldown_then_tried_once() -> None:
    clock = Clock()
    picker = ServerPicker(2, cooldown_s=30, clock=clock)
    first = picker.acquire()
    assert first == 0
    picker.release(0, ok=False)
    assert picker.state(0) == "open"
    clock.now += 29.9
    assert [picker.acquire(), picker.acquire()] == [1, 1]  # 0 is cooling down
    clock.now += 0.1
    assert picker.state(0) == "half-open"
    assert picker.acquire() == 0  # the one trial request
    assert picker.acquire() == 1  # while it runs, nothing else goes to 0
    picker.release(0, ok=True)
    assert picker.state(0) == "closed" and picker.acquire() == 0


def test_a_failed_trial_opens_the_breaker_for_another_cooldown() -> None:
    clock = Clock()
    picker = ServerPicker(1, cooldown_s=10, clock=clock)
    picker.release(picker.acquire() or 0, ok=False)
    clock.now += 10
    assert picker.acquire() == 0
    picker.release(0, ok=False)
    clock.now += 9
    assert picker.acquire() is None and picker.state(0) == "open"
    clock.now += 1
    assert picker.acquire() == 0


def test_servers_excluded_for_this_question_are_not_picked() -> None:
    picker = ServerPicker(3, cooldown_s=0, clock=Clock())
    assert picker.acquire(exclude={0, 1}) == 2
    assert picker.acquire(exclude={0, 1, 2}) is None


class FakeServer:
    """Streams `Partial answer ` then fails with `error` after `good` pieces (or answers)."""

    def __init__(self, reply: str, error: BackendError | None = None, good: int = 0):
        self.reply, self.error, self.good = reply, error, good
        self.calls = 0

    @property
    def backend(self) -> str:
        return "pool"

    @property
    def model(self) -> str:
        return "smol"

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        self.calls += 1
        if self.error is not None:
            yield from ["Partial ", "answer "][: self.good]
            raise self.error
        yield from self.reply.split(" ")
        if on_usage:
            on_usage(Usage(10, 3))


URLS = ["http://a:1/v1", "http://user:secret@b:2/v1", "http://c:3/v1"]


def pool(*servers: FakeServer, cooldown_s: float = 30) -> ServerPoolChatModel:
    return ServerPoolChatModel("pool", servers, URLS[: len(servers)], cooldown_s)


def events(model: ServerPoolChatModel, usage: list[Usage]) -> list[str | Restart]:
    messages: list[Message] = [{"role": "user", "content": "hi"}]
    return list(model.stream_events(messages, max_tokens=8, temperature=0, on_usage=usage.append))


def _requests(server: str, outcome: str) -> float:
    labels = {"backend": "pool", "server": server, "outcome": outcome}
    return METRICS.registry.get_sample_value("kb_server_requests_total", labels) or 0.0


def test_a_server_dying_mid_stream_is_replaced_and_its_text_voided() -> None:
    dying = FakeServer("", BackendUnavailableError("pool failed mid-answer"), good=2)
    model = pool(dying, FakeServer("from B"), FakeServer("from C"))
    usage: list[Usage] = []
    before = _requests("http://a:1/v1", "failed")
    got = events(model, usage)
    assert _requests("http://a:1/v1", "failed") == before + 1  # /metrics counts it
    assert got[:2] == ["Partial ", "answer "]
    restart = got[2]
    assert isinstance(restart, Restart)
    assert restart.failed == "pool at http://a:1/v1" and restart.next == "pool at http://***@b:2/v1"
    assert got[3:] == ["from", "B"]
    assert usage[-1].server == "http://***@b:2/v1"  # redacted: no password in any note
    assert model.picker.state(0) == "open" and model.picker.outstanding(0) == 0


def test_every_server_down_raises_for_the_fallback_chain() -> None:
    down = [FakeServer("", BackendTimeoutError("slow")) for _ in range(3)]
    model = pool(*down)
    with pytest.raises(BackendUnavailableError, match="every server of pool is down"):
        events(model, [])
    assert [s.calls for s in down] == [1, 1, 1]
    with pytest.raises(BackendUnavailableError, match="cool-down"):  # none asked again
        events(model, [])
    assert [s.calls for s in down] == [1, 1, 1]


def test_a_rejected_request_is_not_a_server_failure() -> None:
    bad = BackendError("pool answered HTTP 400")
    bad.status = 400
    model = pool(FakeServer("", bad), FakeServer("ok"))
    with pytest.raises(BackendError, match="HTTP 400"):
        events(model, [])
    assert model.picker.state(0) == "closed"


def test_an_overloaded_server_is_one() -> None:
    busy = BackendError("pool answered HTTP 503")
    busy.status = 503
    model = pool(FakeServer("", busy), FakeServer("ok"))
    assert events(model, [])[-1] == "ok" and model.picker.state(0) == "open"


def test_plain_stream_replaces_a_server_silently_before_its_first_piece() -> None:
    model = pool(FakeServer("", BackendUnavailableError("refused")), FakeServer("from B"))
    messages: list[Message] = [{"role": "user", "content": "hi"}]
    assert complete(model, messages, max_tokens=8) == "fromB"
    model = pool(FakeServer("", BackendUnavailableError("reset"), good=1), FakeServer("from B"))
    with pytest.raises(BackendUnavailableError, match="reset"):
        complete(model, messages, max_tokens=8)


def test_a_reader_that_stops_early_frees_its_server() -> None:
    model = pool(FakeServer("one two three"), FakeServer("x"))
    messages: list[Message] = [{"role": "user", "content": "hi"}]
    stream = model.stream_events(messages, max_tokens=8, temperature=0)
    next(stream)
    assert model.picker.outstanding(0) == 1
    stream.close()
    assert model.picker.outstanding(0) == 0 and model.picker.state(0) == "closed"


def test_the_answer_names_the_server_and_keeps_no_text_of_the_dead_one(
    retriever: HybridRetriever,
) -> None:
    dying = FakeServer("", BackendUnavailableError("pool failed mid-answer"), good=2)
    good = ScriptedChatModel()
    model = ServerPoolChatModel("pool", [dying, good], URLS[:2], 30)  # type: ignore[list-item]
    assistant = Assistant(retriever, fixed_chain(model), retriever._embedder)  # type: ignore[arg-type]
    got = list(assistant.stream(QUESTION))
    assert isinstance(got[0], Evidence) and any(isinstance(e, Restart) for e in got)
    answer = got[-1]
    assert isinstance(answer, Answer) and "Partial" not in answer.text
    assert answer.server == "http://***@b:2/v1" and answer.as_dict()["server"] == answer.server
    assert answer.note and "pool at http://a:1/v1 failed" in answer.note
    assert "answered by pool at http://***@b:2/v1" in answer.note
    assert answer.citations


def test_a_pool_that_is_all_down_falls_back_to_the_next_profile(
    retriever: HybridRetriever,
) -> None:
    model = pool(FakeServer("", BackendUnavailableError("refused")))
    local = ScriptedChatModel()
    assistant = Assistant(retriever, fixed_chain(model, local), retriever._embedder)  # type: ignore[arg-type]
    answer = assistant.ask(QUESTION)
    assert answer.backend == "fake" and answer.fell_back and answer.server is None
    assert answer.note and "every server of pool is down" in answer.note


def test_base_urls_from_the_environment_make_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.backends.profiles import KINDS

    urls = ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]
    monkeypatch.setenv("KB_PROFILES__POOL__KIND", "openai")
    monkeypatch.setenv("KB_PROFILES__POOL__MODEL", "smol")
    monkeypatch.setenv("KB_PROFILES__POOL__BASE_URLS", json.dumps(urls))
    settings = Settings()
    profile = settings.backend_profiles()["pool"]
    model = KINDS["openai"]("pool", profile, settings)
    assert isinstance(model, ServerPoolChatModel) and model.urls == urls
    monkeypatch.setenv("KB_PROFILES__POOL__BASE_URL", urls[0])  # base_url too, once
    assert Settings().backend_profiles()["pool"].servers() == urls
    monkeypatch.setenv("KB_PROFILES__POOL__BASE_URLS", json.dumps(urls[1:]))
    assert Settings().backend_profiles()["pool"].servers() == urls
    monkeypatch.delenv("KB_PROFILES__POOL__BASE_URL")
    profile = Settings().backend_profiles()["pool"]  # one server in base_urls: no pool
    single = KINDS["openai"]("pool", profile, settings)
    assert isinstance(single, OpenAICompatibleChatModel)
    assert single._config.base_url == urls[1]


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"data": []}' if self.path == "/v1/models" else b"{}"
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_doctor_checks_each_server_of_a_pool(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        live = f"http://127.0.0.1:{server.server_address[1]}/v1"
        dead = f"http://127.0.0.1:{free_port()}/v1"
        assert check_pool_server(live, None)["answers"] is True
        assert check_pool_server(dead, None)["answers"] is False
        monkeypatch.setenv("KB_PROFILES__POOL__KIND", "openai")
        monkeypatch.setenv("KB_PROFILES__POOL__BASE_URLS", json.dumps([live, dead]))
        report = describe_profiles(Settings(), run_probe=False)["pool"]
        assert report["servers"] == {live: "not checked", dead: "not checked"}
        servers = servers_report(Settings().backend_profiles()["pool"], run_probe=True)
        assert servers[live]["answers"] is True and servers[dead]["answers"] is False  # type: ignore[index]
        shown = render({"pool": {"servers": servers}})  # `kb doctor`: a line per server
        assert f"    {live}:\n      answers: True" in shown
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
