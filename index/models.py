"""Domain value of retrieval: a hit is a chunk with its scores."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models import Chunk


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. `score` orders hits (fused); `dense` is the cosine similarity."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
