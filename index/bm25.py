"""Lexical retrieval with BM25 (bm25s), over the same chunks as the vector store."""

from __future__ import annotations

from typing import Any

import bm25s
import numpy as np


def _stemmer() -> Any:
    """English Snowball stemmer: "licenses" finds "license", which ranks gold passages higher on
    the dev set."""
    import Stemmer

    return Stemmer.Stemmer("english")


class Bm25Index:
    """BM25 over chunk texts; built in memory at load time (fast enough not to be saved)."""

    def __init__(self, ids: list[int], texts: list[str]):
        self._ids = ids
        self._stemmer = _stemmer()
        self._model = bm25s.BM25()
        if ids:
            self._model.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: list[str]) -> bm25s.tokenization.Tokenized:
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) with a positive score, best first."""
        if not self._ids or k <= 0:
            return []
        tokens = self._tokenize([query])
        if not tokens.ids or not tokens.ids[0]:
            return []
        scores = self._model.get_scores(_query_terms(tokens))
        order = np.argsort(-scores)[: min(k, len(self._ids))]
        return [(self._ids[i], float(scores[i])) for i in order if scores[i] > 0]


def _query_terms(tokens: bm25s.tokenization.Tokenized) -> list[str]:
    vocab = {index: word for word, index in tokens.vocab.items()}
    return [vocab[i] for i in tokens.ids[0]]
