"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused into one ranking.

kb fuses by score (`weighted_fusion`): on the tuning questions it ranked gold passages higher
than reciprocal-rank fusion, which throws away how far ahead the best cosine is. RRF stays as
the alternative it is compared with (`method="rrf"`)."""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.bm25 import Bm25Index
from index.embedders import Embedder
from index.errors import VectorStoreError
from index.models import Hit, collection_of
from index.storage import IndexState
from index.windows import chunk_of, vector_ids
from ingest.models import Chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FusionParams:
    """How many candidates each search gives and how dense and BM25 scores are fused."""

    candidates: int = 40  # from each of dense and BM25, before fusion
    method: Literal["weighted", "rrf"] = "weighted"
    dense_weight: float = 0.6  # weighted: share of the cosine in the fused score
    rrf_k: int = 60  # rrf: the rank offset


ScopeKey = tuple[frozenset[str] | None, bool]  # (collections, None: all; local_only)


class ScopeCache:
    """The chunk ids in each scope of one index state, computed once per scope.

    One per `HybridRetriever`, shared by its scoped copies; a reloaded retriever (a new index
    generation) makes its own, so no set outlives the chunks it was computed from. A scope
    that leaves nothing out is None, not a set of every chunk: every collection without
    local-only chunks when there are none (an MCP call, most often) costs no set at all."""

    SIZE = 16  # scopes kept: tokens and channels name few; a set costs ~32 MB at 1M chunks

    def __init__(self, chunks: Mapping[int, Chunk]):
        self._chunks = chunks
        self._sets: OrderedDict[ScopeKey, frozenset[int] | None] = OrderedDict()
        self._lock = threading.Lock()  # held for lookups only; sets are built outside it
        self._local: bool | None = None  # whether any chunk is local-only; None: not yet known

    def allowed(self, wanted: frozenset[str] | None, local_only: bool) -> frozenset[int] | None:
        """The chunk ids in scope; None: every chunk."""
        key = (wanted, local_only)
        with self._lock:
            if key in self._sets:
                self._sets.move_to_end(key)
                return self._sets[key]
        found = self._compute(wanted, local_only)
        with self._lock:  # two threads may both compute a new scope: the same set, kept once
            self._sets[key] = found
            if len(self._sets) > self.SIZE:
                self._sets.popitem(last=False)
        return found

    def _compute(self, wanted: frozenset[str] | None, local_only: bool) -> frozenset[int] | None:
        if wanted is None and (local_only or not self._any_local_only()):
            return None
        allowed = frozenset(
            i
            for i, c in self._chunks.items()
            if (wanted is None or collection_of(c) in wanted)
            and (local_only or not c.meta.get("local_only"))
        )
        return None if len(allowed) == len(self._chunks) else allowed

    def _any_local_only(self) -> bool:
        """Whether any chunk is local-only: stops at the first, so it is cheap where there are
        some, and where there are none it spares a set of every chunk."""
        if self._local is None:
            self._local = any(c.meta.get("local_only") for c in self._chunks.values())
        return self._local


class HybridRetriever:
    """Retrieves chunks for a query from a loaded index state."""

    def __init__(self, state: IndexState, embedder: Embedder, params: FusionParams | None = None):
        self.state = state
        self._embedder = embedder
        self.params = params or FusionParams()
        ids = list(state.chunks)
        self._bm25 = Bm25Index(ids, [state.chunks[i].text for i in ids])
        self.collections: frozenset[str] | None = None  # None: every collection
        self._allowed: frozenset[int] | None = None  # None: every chunk
        self._scopes = ScopeCache(state.chunks)  # shared by the scoped copies (copy.copy)

    def reloaded(self, state: IndexState) -> HybridRetriever:
        """The same embedder and fusion over another index state (after an ingest)."""
        return HybridRetriever(state, self._embedder, self.params)

    def scoped(
        self, collections: Collection[str] | None, local_only: bool = True
    ) -> HybridRetriever:
        """The same index searched only in `collections` (None or empty: all of them), and
        without the chunks of local-only documents when `local_only` is False.

        A filter on each chunk, applied to candidates fetched in proportion: each search
        over-fetches by the share of the index the scope leaves out, so a small collection in
        a large index still gets its full number of candidates. The chunks in scope are
        computed once per scope and index state (`ScopeCache`), not on every question."""
        scoped = copy.copy(self)
        wanted = scoped.collections = frozenset(collections) if collections else None
        scoped._allowed = None
        if wanted is not None or not local_only:
            scoped._allowed = self._scopes.allowed(wanted, local_only)
        return scoped

    def _over_fetch(self) -> int:
        """How many times more candidates each search takes so the scope still gets enough."""
        if self._allowed is None:
            return 1
        return math.ceil(len(self.state.chunks) / max(1, len(self._allowed)))

    def _in_scope(self, chunk: int) -> bool:
        return chunk in self.state.chunks and (self._allowed is None or chunk in self._allowed)

    @property
    def embedder(self) -> Embedder:
        """The embedder queries are embedded with."""
        return self._embedder

    @property
    def embedder_id(self) -> str:
        """The id of the embedder, as an index manifest records it."""
        return self._embedder.id

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector."""
        return self._embedder.embed([query])[0]

    def vectors_of(self, hits: list[Hit]) -> np.ndarray:
        """The hits' stored vectors, so passages are not embedded twice; embedded again when
        another process replaced the index meanwhile and they are gone."""
        try:
            return self.state.store.vectors([h.chunk.id for h in hits])
        except VectorStoreError:
            return self._embedder.embed([h.chunk.text for h in hits])

    def retrieve(self, query: str, top_k: int = 5) -> list[Hit]:
        """Best `top_k` hits, each with its fused score and its cosine similarity to the query
        (a chunk with embedding windows: its best vector's)."""
        if not query.strip() or not self.state.chunks:
            return []
        if self._allowed is not None and not self._allowed:
            return []
        vector = self.embed_query(query)
        dense = self._dense(vector)
        lexical = self._lexical(query)
        cosines = dict(dense)
        lexical_only = [i for i in lexical if i not in cosines]
        if lexical_only:
            cosines.update(self._cosines(lexical_only, vector))
            lexical = {i: s for i, s in lexical.items() if i in cosines}
        fused = self._fuse([i for i, _ in dense], cosines, lexical)[:top_k]
        return [Hit(self.state.chunks[i], score, cosines[i], lexical.get(i)) for i, score in fused]

    def _dense(self, vector: np.ndarray) -> list[tuple[int, float]]:
        """Up to `candidates` chunks by their best vector, best first (the store's inner
        products are the cosines of unit vectors)."""
        wanted = self.params.candidates
        extra = 3 if self.state.windows else 1  # a chunk may fill several places
        best: dict[int, float] = {}
        for vector_id, score in self.state.store.search(
            vector, wanted * extra * self._over_fetch()
        ):
            chunk = chunk_of(vector_id)
            # A store outside the index folder (Milvus) may hold ids of an unfinished ingest.
            if self._in_scope(chunk) and chunk not in best:
                best[chunk] = score
        return list(best.items())[:wanted]

    def _lexical(self, query: str) -> dict[int, float]:
        """Up to `candidates` BM25 hits in scope, best first."""
        found = self._bm25.search(query, self.params.candidates * self._over_fetch())
        return dict([(i, s) for i, s in found if self._in_scope(i)][: self.params.candidates])

    def _cosines(self, chunks: list[int], vector: np.ndarray) -> dict[int, float]:
        """Each chunk's best cosine over its own vector and its windows'."""
        counts = [self.state.windows.get(c, 0) for c in chunks]
        ids = [v for c, n in zip(chunks, counts, strict=True) for v in vector_ids(c, n)]
        try:
            scores = (self.state.store.vectors(ids) @ vector).tolist()
        except VectorStoreError as exc:  # another process replaced the index twice meanwhile
            log.warning("%s; those passages are left out until the index is reloaded", exc)
            return {}
        best: dict[int, float] = {}
        for vector_id, score in zip(ids, scores, strict=True):
            chunk = chunk_of(vector_id)
            best[chunk] = max(score, best.get(chunk, -1.0))
        return best

    def _fuse(
        self, dense: list[int], cosines: dict[int, float], lexical: dict[int, float]
    ) -> list[tuple[int, float]]:
        if self.params.method == "rrf":
            return reciprocal_rank_fusion([dense, list(lexical)], self.params.rrf_k)
        return weighted_fusion(cosines, lexical, self.params.dense_weight)


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def weighted_fusion(
    cosines: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float
) -> list[tuple[int, float]]:
    """score = w · cosine + (1 − w) · BM25 / this query's best BM25 (0 when not a BM25 hit).

    Scaling BM25 by the query's best score puts it on the cosine's 0..1 range without
    corpus statistics; every id in `cosines` is ranked."""
    best = max(lexical.values(), default=0.0) or 1.0
    scores = {
        i: dense_weight * cos + (1.0 - dense_weight) * lexical.get(i, 0.0) / best
        for i, cos in cosines.items()
    }
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
