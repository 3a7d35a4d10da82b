"""Citations made by the application, not trusted to the model.

Each answer sentence is matched to the given passage it is most similar to (cosine of
embeddings, or failing that the share of its content words the passage holds); a sentence
cites that passage when the match clears a threshold. A `[n]`
the model wrote is kept only when `n` names a passage it was given; others are removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer

from ingest.sentences import split_sentences

_MARKER = re.compile(r"\s*\[(\d+)\]")


@dataclass(frozen=True)
class Attribution:
    """An answer with only valid citation markers, what it cites, and what each one supports."""

    text: str  # the answer with valid [n] markers only
    cited: tuple[int, ...]  # passage numbers cited, ascending
    support: dict[int, str]  # passage number -> first answer sentence it supports


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


def strip_markers(text: str) -> str:
    """The text without its [n] citation markers."""
    return _MARKER.sub("", text).strip()


_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "that",
        "this",
        "from",
        "they",
        "them",
        "their",
        "have",
        "has",
        "was",
        "were",
        "can",
        "will",
        "its",
        "into",
        "than",
        "then",
        "also",
        "more",
        "most",
        "such",
        "which",
        "what",
        "when",
        "where",
        "who",
        "how",
    ]
)


_STEMMER = Stemmer.Stemmer("english")


def content_words(text: str) -> set[str]:
    """Stems of the words that carry meaning: numbers, and words of 3+ letters that are not
    stopwords. Stems, so "dimensional" supports "dimension" and "embeddings" "embedding"."""
    words = re.findall(r"\w+", text.lower())
    kept = [w for w in words if (w.isdigit() or len(w) >= 3) and w not in _STOPWORDS]
    return set(_STEMMER.stemWords(kept))


def _lexical_support(sentence: str, passages: Sequence[str], min_overlap: float) -> int | None:
    """1-based passage whose words cover at least `min_overlap` of the sentence's content words."""
    words = content_words(sentence)
    if len(words) < 4:
        return None
    shares = [len(words & content_words(p)) / len(words) for p in passages]
    best = max(range(len(shares)), key=shares.__getitem__, default=None)
    return None if best is None or shares[best] < min_overlap else best + 1


def _supporting_passage(
    index: int,
    bare: str,
    vectors: np.ndarray | None,
    passage_vectors: np.ndarray,
    passages: Sequence[str],
    threshold: float,
    min_overlap: float,
) -> int | None:
    if vectors is not None and len(bare.split()) >= 3:
        similarities = passage_vectors @ vectors[index]
        best = int(np.argmax(similarities))
        if similarities[best] >= threshold:
            return best + 1
    return _lexical_support(bare, passages, min_overlap)


def attribute(
    answer: str,
    sentence_vectors: np.ndarray | None,
    passage_vectors: np.ndarray,
    passages: Sequence[str],
    threshold: float,
    min_overlap: float = 0.7,
) -> Attribution:
    """Cite passages for `answer`, whose sentences (`sentences_to_embed`) were embedded in order.

    A sentence keeps the valid markers the model wrote; one without any cites the passage most
    similar to it (cosine >= `threshold`) or, failing that, the passage holding most of its
    content words (>= `min_overlap`). Markers move to the end of their sentence; a sentence that
    is nothing but markers is dropped.
    """
    out: list[str] = []
    cited: set[int] = set()
    support: dict[int, str] = {}
    for i, sentence in enumerate(split_sentences(answer)):
        _, valid = strip_invalid_markers(sentence, len(passage_vectors))
        bare = strip_markers(sentence)
        if not bare:
            continue
        if not valid:
            found = _supporting_passage(
                i, bare, sentence_vectors, passage_vectors, passages, threshold, min_overlap
            )
            valid = [found] if found else []
        for n in valid:
            support.setdefault(n, bare)
        cited.update(valid)
        out.append(_with_markers(bare, sorted(set(valid))))
    return Attribution(" ".join(out), tuple(sorted(cited)), support)


def _with_markers(sentence: str, numbers: list[int]) -> str:
    if not numbers:
        return sentence
    markers = "".join(f" [{n}]" for n in numbers)
    match = re.search(r"[.!?]+$", sentence)
    if match:
        return f"{sentence[: match.start()]}{markers}{match.group(0)}"
    return f"{sentence}{markers}"


def sentences_to_embed(answer: str) -> Sequence[str]:
    """The answer's sentences without citation markers, in the order `attribute` expects."""
    return [strip_markers(s) for s in split_sentences(answer)]


def evidence_sentence(claim: str, passage: str) -> str:
    """The passage sentence sharing most content words with `claim`: what the page highlights."""
    sentences = split_sentences(passage)
    if not sentences:
        return ""
    words = content_words(claim)
    return max(sentences, key=lambda s: len(words & content_words(s)))
