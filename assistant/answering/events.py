"""Walking an answer's event stream (`Assistant.stream`): what every caller does the same way.

The stream yields the `Evidence`, reply text, a `Restart` when a backend failed and the next
starts over, then the final `Answer`. Callers differ in what they show per event; what they
share is keeping that final `Answer`, and failing when the stream ended without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from assistant.answering.models import Answer, Evidence
from assistant.backends.fallback import Restart
from assistant.errors import IncompleteAnswerError

AnswerEvent = str | Evidence | Restart | Answer


class AnswerStream:
    """Iterates an answer's events up to its final `Answer`, which `answer()` returns."""

    def __init__(self, events: Iterable[AnswerEvent]):
        self._events = iter(events)
        self._final: Answer | None = None

    def __iter__(self) -> Iterator[str | Evidence | Restart]:
        for event in self._events:
            if isinstance(event, Answer):
                self._final = event
            else:
                yield event

    def answer(self) -> Answer:
        """The final `Answer`, after walking whatever events are left unread."""
        for _ in self:
            pass
        if self._final is None:
            raise IncompleteAnswerError()
        return self._final
