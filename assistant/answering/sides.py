"""A comparison's sides swapped: a reply that gives one side the facts the passages give the
other ("Open-source models are expensive [2]" from "Access to proprietary LLMs can be
expensive"), a mistake seen on the tune set's comparison questions (eval/tune.jsonl).

Each reply sentence that names one side only is matched to the passage sentence most like it;
when that sentence names the other side only, in its first words (where a sentence says what it
is about: "Performance ... may lag behind proprietary models" is about open models), and the
reply copies most of its other words, the sides were swapped. A sentence naming both
sides, or neither, is not judged: the check only fires on a plain contradiction of who is who.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answering.evidence import passage_sentences
from assistant.answering.parts import side_marks, sides_named
from assistant.guards.attribution import content_words, strip_markers
from index.embedders import Embedder
from ingest.sentences import split_sentences

SUBJECT_WORDS = 6  # a passage sentence is about the side it names this early
COPIED = 0.5  # share of the reply sentence's other content words its source holds


def _names_one(text: str, marks: list[set[str]]) -> int | None:
    """The side `text` names when it names exactly one, else None."""
    named = sides_named(text, marks)
    return named[0] if len(named) == 1 else None


def swapped_sides(
    reply: str, sides: Sequence[str], passages: Sequence[str], embedder: Embedder
) -> bool:
    """Whether a reply sentence gives one side what the passages say of the other."""
    marks = side_marks(sides)
    claims = [
        (s, side)
        for s in split_sentences(strip_markers(reply))
        if (side := _names_one(s, marks)) is not None
    ]
    sources = [s for p in passages for s in passage_sentences(p)]
    if not claims or not sources:
        return False
    similarity = embedder.embed([c for c, _ in claims]) @ embedder.embed(sources).T
    for (claim, side), row in zip(claims, similarity, strict=True):
        source = sources[int(np.argmax(row))]
        about = _names_one(" ".join(source.split()[:SUBJECT_WORDS]), marks)
        if about is not None and about != side and _copies(claim, source, marks):
            return True
    return False


def _copies(claim: str, source: str, marks: list[set[str]]) -> bool:
    """Whether the claim holds mostly the source's words, besides the sides' names."""
    names = set().union(*marks)
    words = content_words(claim) - content_words(" ".join(names))
    return bool(words) and len(words & content_words(source)) >= COPIED * len(words)
