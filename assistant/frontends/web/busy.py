"""The page's busy limit: how many questions it holds at once, and the answer to one more.

A question holds a place from the moment the page takes it until its answer is complete,
including the time it waits for the local model's lock. Past `limit` places, the page answers
at once with `BUSY_MESSAGE` (the chat keeps the question; `/ask` marks the reply `busy`)
instead of letting questions pile up behind one model without bound. This module does not
know about Gradio, does not queue and does not limit per user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.answering.models import Answer

log = logging.getLogger(__name__)

BUSY_MESSAGE = "kb is busy answering other questions; try again in a minute."
# Handlers Gradio may run beyond the limit: they answer "busy" at once instead of waiting
# in Gradio's queue for a place among the handlers that hold the model.
BUSY_HEADROOM = 8


class BusyGate:
    """Admits at most `limit` questions at once; thread-safe."""

    def __init__(self, limit: int = 32):
        if limit < 1:
            raise ValueError(f"the busy limit must be at least 1, not {limit}")
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Hold a place when there is room (True; `release` it later), else False."""
        with self._lock:
            admitted = self._held < self.limit
            self._held += admitted
        if not admitted:
            log.warning("busy: %d questions already held; answering 'try again'", self.limit)
        return admitted

    def release(self) -> None:
        """Give back a place `take` held."""
        with self._lock:
            self._held -= 1

    @contextmanager
    def admit(self) -> Iterator[bool]:
        """True (and a place held until the block ends) when there is room, else False."""
        admitted = self.take()
        try:
            yield admitted
        finally:
            if admitted:
                self.release()


def busy_answer(question: str, backend: str) -> Answer:
    """The reply to a question the page had no room for: no passages, no model call."""
    note = "busy: too many questions at once; nothing was answered"
    return Answer(question, BUSY_MESSAGE, (), (), backend, "", refused=True, note=note)
