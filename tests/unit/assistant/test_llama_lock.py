"""The local model's lock (issue 16, item 5): an abandoned stream frees the model, the caller's
per-piece work never holds it, and waiters are served first come, first served. llama.cpp is
replaced by a stand-in that writes numbered pieces; tests/integration/test_local_answers.py
abandons a stream of the real GGUF."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.backends.llms.fair_lock import FairLock
from assistant.backends.llms.llama_cpp import LlamaCppChatModel
from assistant.errors import BackendError

MESSAGES = [{"role": "user", "content": "Say something."}]


class StandInLlama:
    """Writes `pieces` numbered pieces per completion, `delay_s` apart."""

    def __init__(self, pieces: int = 20, delay_s: float = 0.0, fail: bool = False) -> None:
        self.pieces, self.delay_s, self.fail = pieces, delay_s, fail
        self.written = 0
        self.ended = threading.Event()  # a completion ended: finished, or closed by the worker

    def create_chat_completion(self, **_: Any) -> Iterator[dict[str, Any]]:
        if self.fail:
            raise RuntimeError("llama_decode returned -1")
        try:
            for n in range(self.pieces):
                time.sleep(self.delay_s)
                self.written += 1
                yield {"choices": [{"delta": {"content": f"{n} "}}]}
        finally:
            self.ended.set()

    def reset(self) -> None:  # llama.cpp's cache emptied: the model starts each call afresh
        pass

    def tokenize(self, text: bytes, add_bos: bool = False) -> list[int]:
        return list(range(len(text.split())))


def _model(llama: StandInLlama) -> LlamaCppChatModel:
    model = LlamaCppChatModel(Path("stand-in.gguf"))
    model._llama = llama  # loaded already: no file, no probe
    return model


def _stream(model: LlamaCppChatModel) -> Iterator[str]:
    return model.stream(MESSAGES, max_tokens=32, temperature=0.0)


def _answer_within(model: LlamaCppChatModel, seconds: float) -> str | None:
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append("".join(_stream(model))), daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


def test_a_stream_abandoned_halfway_without_closing_frees_the_model() -> None:
    model = _model(StandInLlama(pieces=20, delay_s=0.01))
    abandoned = _stream(model)
    assert next(abandoned) == "0 "  # then never read again, never closed, still referenced
    assert _answer_within(model, 10) == "".join(f"{n} " for n in range(20))
    del abandoned


def test_closing_a_stream_stops_the_generation() -> None:
    llama = StandInLlama(pieces=200, delay_s=0.01)  # 2 s to write them all
    model = _model(llama)
    stream = _stream(model)
    next(stream)
    stream.close()
    assert llama.ended.wait(10), "the completion never ended"
    # A worker that kept going ends only after writing all 200; a stopped one ends at once.
    assert llama.written < llama.pieces, "the worker kept writing for a closed stream"
    assert _answer_within(model, 10) is not None  # and it let go of the lock


def test_the_lock_is_not_held_while_the_caller_works_on_a_piece() -> None:
    model = _model(StandInLlama(pieces=5))
    slow = _stream(model)
    next(slow)  # the caller now edits a Slack message for a long time
    assert _answer_within(model, 5) == "0 1 2 3 4 "
    assert "".join(slow) == "1 2 3 4 "


def test_a_failure_reaches_the_caller_as_a_backend_error() -> None:
    model = _model(StandInLlama(fail=True))
    with pytest.raises(BackendError, match="llama_decode"):
        list(_stream(model))
    model._llama = StandInLlama(pieces=2)
    assert _answer_within(model, 5) == "0 1 "  # the failed call let go of the lock


def test_waiters_are_served_first_come_first_served() -> None:
    lock, served, threads = FairLock(), [], []
    with lock:
        for n in range(8):
            thread = threading.Thread(target=lambda n=n: _take(lock, served, n))
            thread.start()
            threads.append(thread)
            # each has queued behind the holder (the lock's queue) before the next starts
            while len(lock._queue) < n + 2:
                time.sleep(0.001)
    for thread in threads:
        thread.join(5)
    assert served == list(range(8))


def _take(lock: FairLock, served: list[int], n: int) -> None:
    with lock:
        served.append(n)
