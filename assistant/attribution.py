"""Citations made by the application, not trusted to the model.

Each answer sentence is matched to the given passage it is most similar to (cosine of
embeddings); a sentence cites that passage when the similarity clears a threshold. A `[n]`
the model wrote is kept only when `n` names a passage it was given; others are removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_MARKER = re.compile(r"\s*\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")


@dataclass(frozen=True)
class Attribution:
    text: str  # the answer with valid [n] markers only
    cited: tuple[int, ...]  # passage numbers cited, ascending
    support: dict[int, str]  # passage number -> first answer sentence it supports


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def strip_invalid_markers(sentence: str, passages: int) -> tuple[str, list[int]]:
    """Remove markers that point at no given passage; return the sentence and the valid ones."""
    valid: list[int] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= passages:
            valid.append(n)
            return match.group(0)
        return ""

    return _MARKER.sub(keep, sentence), valid


def _bare(sentence: str) -> str:
    return _MARKER.sub("", sentence).strip()


def attribute(
    answer: str, sentence_vectors: np.ndarray | None, passage_vectors: np.ndarray, threshold: float
) -> Attribution:
    """Cite passages for `answer`, whose sentences (`split_sentences`) were embedded in order."""
    sentences = split_sentences(answer)
    out: list[str] = []
    cited: set[int] = set()
    support: dict[int, str] = {}
    for i, sentence in enumerate(sentences):
        sentence, valid = strip_invalid_markers(sentence, len(passage_vectors))
        if not valid and sentence_vectors is not None and len(_bare(sentence).split()) >= 3:
            similarities = passage_vectors @ sentence_vectors[i]
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                valid = [best + 1]
                sentence = _append_marker(sentence, best + 1)
        for n in valid:
            support.setdefault(n, _bare(sentence))
        cited.update(valid)
        out.append(sentence)
    return Attribution(" ".join(out), tuple(sorted(cited)), support)


def _append_marker(sentence: str, n: int) -> str:
    match = re.search(r"[.!?]+$", sentence)
    if match:
        return f"{sentence[: match.start()]} [{n}]{match.group(0)}"
    return f"{sentence} [{n}]"


def sentences_to_embed(answer: str) -> Sequence[str]:
    return [_bare(s) for s in split_sentences(answer)]
