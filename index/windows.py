"""Embedding windows: a chunk longer than the embedder reads gets more vectors than one.

all-MiniLM-L6-v2 reads 256 word pieces and drops the rest, so the tail of a long chunk never
reached its vector. Such a chunk keeps its own vector (which sees the head) and gets up to
`MAX_WINDOWS` more, each over a run of whole sentences that fits, overlapping the one before
by about a quarter, until the last sentence is covered. Retrieval scores a chunk by its best
vector. Chunks stay the size the answer needs; only what the embedder sees is cut.

A window's vector id is its chunk id with the window number in bits 60-62 (chunk ids have 60
bits), so any store keyed by int64 holds windows beside chunks and an id names its chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.splitter import count_tokens, word_piece_counter

WINDOW_SHIFT = 60
CHUNK_MASK = (1 << WINDOW_SHIFT) - 1
MAX_WINDOWS = 7  # bits 60-62: window numbers 1..7
_SENTENCE = re.compile(r"[^\n.!?]*(?:[.!?]+[\"')\]]*|\n|$)")


@dataclass(frozen=True)
class WindowParams:
    """`tokenizer`: the embedder's `tokenizer.json` (None: count words and marks);
    `limit`: the word pieces the embedder reads, special tokens excluded."""

    tokenizer: Path | None = None
    limit: int = 254

    def counter(self) -> Callable[[str], int]:
        """Counts tokens: the embedder's word pieces with a tokenizer, else words and marks."""
        return word_piece_counter(self.tokenizer) if self.tokenizer else count_tokens


def window_id(chunk_id: int, number: int) -> int:
    """The vector id of window `number` of a chunk."""
    return chunk_id | (number << WINDOW_SHIFT)


def chunk_of(vector_id: int) -> int:
    """The chunk id a vector id (chunk or window) belongs to."""
    return vector_id & CHUNK_MASK


def vector_ids(chunk_id: int, windows: int) -> list[int]:
    """The chunk's own vector id, then its windows'."""
    return [chunk_id] + [window_id(chunk_id, n) for n in range(1, windows + 1)]


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line of `text`, surrounding blanks left out."""
    spans = []
    for match in _SENTENCE.finditer(text):
        piece = match.group(0)
        if piece.strip():
            start = match.start() + len(piece) - len(piece.lstrip())
            spans.append((start, match.start() + len(piece.rstrip())))
    return spans


def _runs(sizes: list[int], budget: int) -> list[tuple[int, int]]:
    """(first, end) sentence ranges: the first from sentence 0, each next one starting so that
    it repeats about a quarter of the one before, the last reaching the final sentence."""
    runs: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < len(sizes) and (end == start or used + sizes[end] <= budget):
            used += sizes[end]
            end += 1
        runs.append((start, end))
        if end >= len(sizes):
            return runs
        back, kept = end, 0
        while back - 1 > start and kept + sizes[back - 1] <= budget // 4:
            back -= 1
            kept += sizes[back]
        start = back


def window_spans(context: str, text: str, params: WindowParams) -> list[tuple[int, int]]:
    """(start, end) in `text` of each extra window of a chunk (none when the whole chunk fits);
    `context` is the title and section line every vector of the chunk is embedded with."""
    count = params.counter()
    if count(with_context(context, text)) <= params.limit:
        return []
    sentences = _sentences(text)
    budget = max(params.limit - count(with_context(context, "")), 16)
    runs = _runs([count(text[a:b]) for a, b in sentences], budget)[1:]  # the first: the chunk's
    if len(runs) > MAX_WINDOWS:  # keep the last (the tail) and spread the rest evenly
        step = len(runs) / MAX_WINDOWS
        runs = [runs[round((i + 1) * step) - 1] for i in range(MAX_WINDOWS)]
    return [(sentences[a][0], sentences[b - 1][1]) for a, b in runs]


def with_context(context: str, text: str) -> str:
    """What the embedder reads for a chunk or one of its windows."""
    return f"{context}\n{text}" if context else text
