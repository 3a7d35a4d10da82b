"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by reciprocal rank."""

from __future__ import annotations

import numpy as np

from index.bm25 import Bm25Index
from index.embedders import Embedder
from index.fusion import reciprocal_rank_fusion
from index.models import Hit
from index.storage import IndexState


class HybridRetriever:
    """Retrieves chunks for a query from a loaded index state."""

    def __init__(
        self, state: IndexState, embedder: Embedder, candidates: int = 20, rrf_k: int = 60
    ):
        self.state = state
        self._embedder = embedder
        self._candidates = candidates
        self._rrf_k = rrf_k
        ids = list(state.chunks)
        self._bm25 = Bm25Index(ids, [state.chunks[i].text for i in ids])

    @property
    def embedder_id(self) -> str:
        return self._embedder.id

    def embed_query(self, query: str) -> np.ndarray:
        return self._embedder.embed([query])[0]

    def retrieve(self, query: str, top_k: int = 5) -> list[Hit]:
        """Best `top_k` hits, each with its fused score and its cosine similarity to the query."""
        if not query.strip() or not self.state.chunks:
            return []
        vector = self.embed_query(query)
        dense = self.state.store.search(vector, self._candidates)
        lexical = self._bm25.search(query, self._candidates)
        fused = reciprocal_rank_fusion(
            [[i for i, _ in dense], [i for i, _ in lexical]], self._rrf_k
        )
        top = [chunk_id for chunk_id, _ in fused[:top_k]]
        cosines = self.state.store.vectors(top) @ vector if top else np.zeros(0)
        lexical_scores = dict(lexical)
        fused_scores = dict(fused)
        return [
            Hit(self.state.chunks[i], fused_scores[i], float(cos), lexical_scores.get(i))
            for i, cos in zip(top, cosines, strict=True)
        ]
