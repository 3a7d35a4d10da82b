"""`AnswerStream`: every caller's walk over an answer's events keeps the final `Answer`."""

import pytest

from assistant.answering.models import Answer, AnswerStream, Evidence
from assistant.backends.fallback import Restart
from assistant.errors import IncompleteAnswerError

EVIDENCE = Evidence((), 0.1)
RESTART = Restart("hosted", "HTTP 503", "local")
FINAL = Answer("q", "It is cheaper.", (), (), "local", "m")


def test_events_before_the_answer_pass_through_in_order_and_the_answer_is_kept() -> None:
    stream = AnswerStream(iter([EVIDENCE, "It ", RESTART, "It is", FINAL]))
    assert list(stream) == [EVIDENCE, "It ", RESTART, "It is"]
    assert stream.answer() is FINAL


def test_answer_walks_what_is_left_unread() -> None:
    assert AnswerStream([EVIDENCE, "It ", FINAL]).answer() is FINAL


def test_a_stream_that_ends_without_its_answer_is_an_error() -> None:
    stream = AnswerStream(["only ", "tokens"])
    assert list(stream) == ["only ", "tokens"]
    with pytest.raises(IncompleteAnswerError, match="ask again"):
        stream.answer()
