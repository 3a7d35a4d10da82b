"""Domain value of retrieval: a hit is a chunk with its scores."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models import Chunk

DEFAULT_COLLECTION = "default"


def collection_of(chunk: Chunk) -> str:
    """The collection a chunk's document belongs to (`default` for chunks indexed before
    collections existed)."""
    return chunk.meta.get("collection", DEFAULT_COLLECTION)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. `score` orders hits (fused); `dense` is the cosine similarity."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
