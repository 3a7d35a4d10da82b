"""Lexical retrieval with BM25 (bm25s), over the same chunks as the vector store."""

from __future__ import annotations

import bm25s
import numpy as np


class Bm25Index:
    """BM25 over chunk texts; built in memory at load time (fast: ~10k chunks/s)."""

    def __init__(self, ids: list[int], texts: list[str]):
        self._ids = ids
        self._model = bm25s.BM25()
        if ids:
            self._model.index(bm25s.tokenize(texts, stopwords="en", show_progress=False),
                              show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) with a positive score, best first."""
        if not self._ids or k <= 0:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        scores = self._model.get_scores(_query_terms(tokens))
        order = np.argsort(-scores)[: min(k, len(self._ids))]
        return [(self._ids[i], float(scores[i])) for i in order if scores[i] > 0]


def _query_terms(tokens: bm25s.tokenization.Tokenized) -> list[str]:
    vocab = {index: word for word, index in tokens.vocab.items()}
    return [vocab[i] for i in tokens.ids[0]]
