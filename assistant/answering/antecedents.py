"""A quoted sentence that points back ("Beyond that threshold, ...") gets the sentence it
points to.

The model answers by copying passage sentences, and sometimes copies the one that holds the
conclusion but not the one before it that names what "that" is: "Beyond that threshold,
open-source infrastructure became attractive" without the threshold. When a reply sentence is
a passage sentence that opens with such a reference and opens the reply, the passage's sentence
before it is put in front of it. Sentences the model wrote in its own words are left alone.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from assistant.answering.evidence import passage_sentences
from assistant.guards.attribution import strip_markers
from ingest.sentences import split_sentences

_POINTS_BACK = re.compile(
    r"^(this|that|these|those|such|it|they|beyond (that|this|these)|above (that|this)"
    r"|below (that|this)|at (that|this) point|in (that|this) case)\b",
    re.I,
)
_MIN_WORDS = 6  # a shorter sentence is too common to say which passage sentence it is


def _squashed(text: str) -> str:
    return " ".join(text.split()).lower()


def _sentence_before(sentence: str, passages: Sequence[str]) -> str | None:
    """The passage sentence just before `sentence`, when a passage holds it word for word."""
    wanted = _squashed(sentence).rstrip(".!?")
    for passage in passages:
        sentences = passage_sentences(passage)
        for before, current in itertools.pairwise(sentences):
            if wanted in _squashed(current):
                return before
    return None


def with_antecedents(reply: str, passages: Sequence[str]) -> str:
    """The reply, with the passage sentence its first sentence points back to put before it.

    Only the opening sentence: later ones may point to the reply's own sentence before them."""
    sentences = split_sentences(reply)
    first = strip_markers(sentences[0]) if sentences else ""
    if not _POINTS_BACK.match(first) or len(first.split()) < _MIN_WORDS:
        return reply
    before = _sentence_before(first, passages)
    if not before or _squashed(before) in _squashed(strip_markers(reply)):
        return reply
    return f"{before} {reply}"
