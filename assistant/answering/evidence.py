"""Evidence first: the passage sentences that best answer a question, chosen right after
retrieval, before the model reads its prompt, so a user sees what the documents say in the
first second.

Candidates are each passage's sentences (wrapped lines joined back; headings, table rows and
title lines left out), alone and in runs of up to three neighbours (an answer often spans two).
A candidate's score adds its cosine similarity to the question, its BM25 score over the
candidates' stemmed words (scaled to the best one), a bonus when it holds the kind of answer the
question asks for (a number, a name, a list), the share of its words the question lacks, and a
small share of its passage's retrieval rank. The best candidate is quoted; a second one only
when it covers question words the first lacks (a two-part question). What this module does not
do: judge the model's reply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.models import Citation
from assistant.answering.parts import Parts, side_marks, sides_named
from assistant.guards.attribution import content_words
from index.embedders import Embedder
from index.models import Hit

_NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|long|large|big|often|fast)|what (percentage|share|fraction|number|year"
    r"|size|price|cost)|when|which year)\b",
    re.I,
)
_NAME_QUESTION = re.compile(
    r"\b(who|which (company|companies|model|models|organi[sz]ation))\b", re.I
)
_LIST_QUESTION = re.compile(
    r"\b(what are|which are|list|name (two|three|some)|examples?"
    r"|what (conditions|steps|requirements|rules))\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w-]+")


@dataclass(frozen=True)
class EvidenceWeights:
    """How much each signal counts; chosen on eval/tune.jsonl (docs/benchmarks.md)."""

    dense: float = 1.0
    lexical: float = 0.6
    answer_type: float = 0.15
    novelty: float = 0.2  # words the question lacks: a sentence restating it answers nothing
    rank: float = 0.1
    window_penalty: float = 0.05  # per extra sentence: a longer quote must earn its length
    window: int = 3  # most sentences in one quote
    second_margin: float = 0.35  # a second quote scores at most this far below the first
    min_words: int = 5


@dataclass(frozen=True)
class _Candidate:
    n: int  # 1-based passage number
    sentences: tuple[int, ...]  # indexes into the flat list of passage sentences
    text: str


_ENDS_A_SENTENCE = re.compile(r"[.!?;:)\"”’]$")
# A line break inside a paragraph is wrapping (licences are hard-wrapped at 70 columns); a blank
# line, a heading, a list item or a table row starts a new block.
_BLOCK_START = re.compile(r"\n\s*(?=\n|#|[-*+] |\d+[.)] |\(\w\) |\|)")
# Not after a list item's number ("1. Use closed APIs"): that full stop ends no sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!^\d\.)(?<!^\d\d\.)[\"”’)]*\s+(?=[\"“(]*[A-Z0-9])")


def passage_sentences(text: str) -> list[str]:
    """Sentences of a passage, with wrapped lines joined back together."""
    sentences = []
    for block in _BLOCK_START.split(text):
        joined = " ".join(block.split())
        sentences += [s.strip() for s in _SENTENCE_END.split(joined) if s.strip()]
    return sentences


def is_statement(sentence: str, min_words: int) -> bool:
    """A sentence that can hold an answer: not a heading, a table row or a title line."""
    words = len(sentence.split())
    if words < min_words or sentence.startswith(("#", "|")):
        return False
    ended = bool(_ENDS_A_SENTENCE.search(sentence))
    return ended or words >= 12 or ":" in sentence or bool(_DIGIT.search(sentence))


_LIST_ITEM = re.compile(r"^([-*+•]|\d+[.)]|\(\w\))\s")
LIST_ITEMS = 8  # at most this many items quoted with their intro


def with_lists_joined(sentences: list[str]) -> list[str]:
    """The sentences with each list joined to the sentence that introduces it ("... use a
    hybrid approach:" and its items), so that the list is quoted whole, as one quote."""
    joined: list[str] = []
    items = -1  # items joined to the last sentence; -1: it introduces no list
    for sentence in sentences:
        if _LIST_ITEM.match(sentence) and 0 <= items < LIST_ITEMS:
            joined[-1] = f"{joined[-1]} {sentence}"
            items += 1
            continue
        joined.append(sentence)
        items = 0 if sentence.endswith(":") else -1
    return joined


_HEADING = re.compile(r"^(#{1,6})\s+(.*)")


def _sections(hit: Hit, sentences: list[str]) -> list[str]:
    """Each sentence's section below the document title (its `##`-and-deeper headings): a
    list item under "Closed Source > Cons" is about closed models without saying so."""
    stack = list(hit.chunk.heading_path)
    found = []
    for sentence in sentences:
        heading = _HEADING.match(sentence)
        if heading:
            level = len(heading.group(1))
            stack = [*stack[: level - 1], heading.group(2)]
        found.append(" ".join(stack[1:]))
    return found


def _sentences(
    hits: Sequence[Hit], min_words: int, lists: bool = False
) -> list[tuple[int, str, str]]:
    """(passage number, sentence, its section) for the sentences that can hold an answer;
    with `lists`, a list and its intro are one sentence."""
    found = []
    for n, hit in enumerate(hits, start=1):
        sentences = passage_sentences(hit.chunk.text)
        if lists:
            sentences = with_lists_joined(sentences)
        sections = _sections(hit, sentences)
        found += [
            (n, s, section)
            for s, section in zip(sentences, sections, strict=True)
            if is_statement(s, min_words)
        ]
    return found


def _candidates(sentences: list[tuple[int, str, str]], window: int) -> list[_Candidate]:
    """Each sentence, and runs of up to `window` neighbours from the same passage."""
    found = []
    for start, (n, _, _) in enumerate(sentences):
        for size in range(1, window + 1):
            run = sentences[start : start + size]
            if len(run) < size or run[-1][0] != n:
                break
            indexes = tuple(range(start, start + size))
            found.append(_Candidate(n, indexes, " ".join(text for _, text, _ in run)))
    return found


def bm25_scores(query: str, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of each text for the query's stemmed content words, the texts being the collection
    (each word counted once per text: in a sentence, repeats say little)."""
    docs = [content_words(t) for t in texts]
    if not docs:
        return np.zeros(0)
    average = sum(len(d) for d in docs) / len(docs) or 1.0
    scores = np.zeros(len(docs))
    for term in content_words(query):
        having = sum(1 for d in docs if term in d)
        if not having:
            continue
        idf = math.log(1 + (len(docs) - having + 0.5) / (having + 0.5))
        for i, doc in enumerate(docs):
            if term in doc:
                scores[i] += idf * (k1 + 1) / (1 + k1 * (1 - b + b * len(doc) / average))
    return scores


def answer_type_bonus(question: str, candidate: str) -> float:
    """1 when the candidate holds what the question asks for: a number, a name, a list."""
    if _NUMBER_QUESTION.search(question):
        return float(bool(_DIGIT.search(candidate)))
    if _NAME_QUESTION.search(question):
        asked = set(_NAME.findall(question))
        return float(any(name not in asked for name in _NAME.findall(candidate)))
    if _LIST_QUESTION.search(question):
        return float(candidate.count(",") >= 2 or " and " in candidate)
    return 0.0


def _scaled(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else values


def _dense(
    query_vector: np.ndarray, vectors: np.ndarray, candidates: list[_Candidate]
) -> np.ndarray:
    """Cosine to the question; a run's vector is the normalised sum of its sentences' vectors,
    so each sentence is embedded once."""
    runs = np.stack([vectors[list(c.sentences)].sum(axis=0) for c in candidates])
    runs /= np.linalg.norm(runs, axis=1, keepdims=True) + 1e-9
    return np.asarray(runs @ query_vector)


def _novelty(query: str, text: str) -> float:
    words = content_words(text)
    return len(words - content_words(query)) / max(len(words), 1)


@dataclass(frozen=True)
class _Pool:
    """The candidate quotes of some passages, with their sentences embedded once."""

    hits: Sequence[Hit]
    candidates: list[_Candidate]
    vectors: np.ndarray
    sections: Sequence[str] = ()  # of each sentence the candidates index


def _pool(
    query: str, hits: Sequence[Hit], embedder: Embedder, weights: EvidenceWeights
) -> _Pool | None:
    lists = bool(_LIST_QUESTION.search(query))
    sentences = _sentences(hits, weights.min_words, lists)
    candidates = _candidates(sentences, weights.window)
    if not candidates:
        return None
    vectors = embedder.embed([s for _, s, _ in sentences])
    return _Pool(hits, candidates, vectors, [section for _, _, section in sentences])


def _scores(query: str, pool: _Pool, embedder: Embedder, weights: EvidenceWeights) -> np.ndarray:
    candidates = pool.candidates
    texts = [c.text for c in candidates]
    signals = (
        (weights.dense, _dense(embedder.embed([query])[0], pool.vectors, candidates)),
        (weights.lexical, _scaled(bm25_scores(query, texts))),
        (weights.answer_type, np.array([answer_type_bonus(query, t) for t in texts])),
        (weights.novelty, np.array([_novelty(query, t) for t in texts])),
        (weights.rank, np.array([1.0 / c.n for c in candidates])),
        (-weights.window_penalty, np.array([len(c.sentences) - 1.0 for c in candidates])),
    )
    return np.asarray(sum(weight * values for weight, values in signals))


def _quotes(pool: _Pool, chosen: Sequence[_Candidate]) -> tuple[Citation, ...]:
    return tuple(Citation(c.n, pool.hits[c.n - 1], c.text, c.text) for c in chosen)


def choose_evidence(
    query: str,
    hits: Sequence[Hit],
    embedder: Embedder,
    weights: EvidenceWeights | None = None,
) -> tuple[Citation, ...]:
    """One or two quotes, each cited by its passage number among `hits`."""
    weights = weights or EvidenceWeights()
    pool = _pool(query, hits, embedder, weights)
    if pool is None:
        return ()
    scores = _scores(query, pool, embedder, weights)
    order = [int(i) for i in np.argsort(-scores)]
    best = pool.candidates[order[0]]
    chosen = [best]
    missing = content_words(query) - content_words(best.text)
    for i in order[1:]:
        other = pool.candidates[i]
        if scores[i] < scores[order[0]] - weights.second_margin:
            break
        if missing & content_words(other.text) and not set(other.sentences) & set(best.sentences):
            chosen.append(other)
            break
    return _quotes(pool, chosen)


def _about_side(pool: _Pool, parts: Parts, part: int) -> list[bool]:
    """Which candidates may quote part `part`: for a comparison, those that name its side
    alone, else those that name it at all (a sentence naming both sides tends to introduce the
    comparison, not answer it); every candidate when none names it, or for other questions."""
    everything = [True] * len(pool.candidates)
    if parts.kind != "compare":
        return everything
    marks = side_marks(parts.sides)
    named = [
        sides_named(c.text, marks) or sides_named(pool.sections[c.sentences[0]], marks)
        for c in pool.candidates
    ]
    alone = [n == [part] for n in named]
    naming = [part in n for n in named]
    return alone if any(alone) else naming if any(naming) else everything


def _scoring_query(part: str, parts: Parts) -> str:
    """What a part's quotes are scored against: a comparison's part without the sides' names,
    as only sentences about its side may quote it (`_about_side`), and the name alone would
    favour a sentence that says nothing else."""
    if parts.kind != "compare":
        return part
    names = set().union(*side_marks(parts.sides))
    return " ".join(w for w in part.split() if w.lower().strip("?,.:") not in names)


def choose_evidence_for_parts(
    query: str,
    parts: Parts,
    hits: Sequence[Hit],
    embedder: Embedder,
    weights: EvidenceWeights | None = None,
) -> tuple[Citation, ...]:
    """A quote for each part of a compound question (no sentence quoted twice; a comparison's
    side quoted from a sentence that names it), so that both sides are shown; a simple
    question's quotes when there are no parts."""
    if not parts.parts:
        return choose_evidence(query, hits, embedder, weights)
    weights = weights or EvidenceWeights()
    pool = _pool(query, hits, embedder, weights)
    if pool is None:
        return ()
    chosen: list[_Candidate] = []
    for i, part in enumerate(parts.parts):
        taken = {s for c in chosen for s in c.sentences}
        allowed = _about_side(pool, parts, i)
        scores = _scores(_scoring_query(part, parts), pool, embedder, weights)
        for k in np.argsort(-scores):
            candidate = pool.candidates[int(k)]
            if allowed[int(k)] and not taken & set(candidate.sentences):
                chosen.append(candidate)
                break
    return _quotes(pool, chosen)


def evidence_text(quotes: Sequence[Citation]) -> str:
    """The quotes as one line of text: what `kb ask` prints first and `evidence_ok` checks."""
    return " ".join(f'"{q.evidence}" [{q.n}]' for q in quotes)
