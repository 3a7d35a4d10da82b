"""Embedding windows with the real embedder: a chunk longer than all-MiniLM-L6-v2 reads is
found by its tail, which its own vector never saw."""

from __future__ import annotations

import numpy as np
import pytest

from index.embedders import SentenceTransformerEmbedder
from index.retriever import HybridRetriever

pytestmark = pytest.mark.integration


def test_long_chunks_have_windows_and_their_tails_score_higher(
    retriever: HybridRetriever, embedder: SentenceTransformerEmbedder
) -> None:
    state = retriever.state
    windowed = [state.chunks[c] for c in state.windows]
    assert len(windowed) >= 10, "the corpus has dozens of chunks longer than MiniLM reads"
    gains = []
    for chunk in windowed:
        tail = chunk.text.strip().splitlines()[-1][-300:]  # the last line: past what it reads
        query = embedder.embed([tail])[0]
        own = float(state.store.vectors([chunk.id])[0] @ query)
        best = retriever._cosines([chunk.id], query)[chunk.id]
        gains.append(best - own)
    assert min(gains) > -1e-6  # the chunk's own vector is one of those scored
    assert float(np.median(gains)) > 0.05, f"tails gained too little: {sorted(gains)}"
