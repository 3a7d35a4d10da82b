"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused into one ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.bm25 import Bm25Index
from index.embedders import Embedder
from index.fusion import reciprocal_rank_fusion, weighted_fusion
from index.models import Hit
from index.storage import IndexState


@dataclass(frozen=True)
class FusionParams:
    candidates: int = 40  # from each of dense and BM25, before fusion
    method: Literal["weighted", "rrf"] = "weighted"
    dense_weight: float = 0.6  # weighted: share of the cosine in the fused score
    rrf_k: int = 60  # rrf: the rank offset


class HybridRetriever:
    """Retrieves chunks for a query from a loaded index state."""

    def __init__(self, state: IndexState, embedder: Embedder, params: FusionParams | None = None):
        self.state = state
        self._embedder = embedder
        self.params = params or FusionParams()
        ids = list(state.chunks)
        self._bm25 = Bm25Index(ids, [state.chunks[i].text for i in ids])

    def reloaded(self, state: IndexState) -> HybridRetriever:
        """The same embedder and fusion over another index state (after an ingest)."""
        return HybridRetriever(state, self._embedder, self.params)

    @property
    def embedder(self) -> Embedder:
        return self._embedder

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
        # A store outside the index folder (Milvus) may hold ids of an unfinished ingest.
        found = self.state.store.search(vector, self.params.candidates)
        dense = [(i, score) for i, score in found if i in self.state.chunks]
        lexical = dict(self._bm25.search(query, self.params.candidates))
        cosines = dict(dense)  # the store's inner products are the cosines of unit vectors
        lexical_only = [i for i in lexical if i not in cosines]
        if lexical_only:
            scores = self.state.store.vectors(lexical_only) @ vector
            cosines.update(zip(lexical_only, scores.tolist(), strict=True))
        fused = self._fuse([i for i, _ in dense], cosines, lexical)[:top_k]
        return [Hit(self.state.chunks[i], score, cosines[i], lexical.get(i)) for i, score in fused]

    def _fuse(
        self, dense: list[int], cosines: dict[int, float], lexical: dict[int, float]
    ) -> list[tuple[int, float]]:
        if self.params.method == "rrf":
            return reciprocal_rank_fusion([dense, list(lexical)], self.params.rrf_k)
        return weighted_fusion(cosines, lexical, self.params.dense_weight)
