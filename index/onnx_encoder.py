"""The embedding model run by ONNX Runtime: the same weights, far less overhead per query.

A one-question call through sentence-transformers spends most of its time in PyTorch's
per-operator overhead, not in arithmetic; ONNX Runtime runs the same graph in a fraction of it
(docs/benchmarks.md). The model is exported once (this needs torch and the `onnx` package) to
`<cache>/<model>-<fingerprint>.onnx`, and the export is only used after its vectors matched
sentence-transformers' on probe sentences. A model the check rejects (another pooling, other
inputs) keeps the sentence-transformers path, so an index built either way answers the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PROBES = [
    "Open models can run on premises, so sensitive data never leaves the building.",
    "What does vendor lock-in mean?",
    "pathlib",
]
TOLERANCE = 1e-4  # largest difference to sentence-transformers' vectors that still counts as equal
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def fingerprint(model_dir: Path) -> str:
    """Changes when the model folder's files change (names, sizes, times)."""
    digest = hashlib.sha256(str(model_dir.resolve()).encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def onnx_path(model_dir: Path, cache_dir: Path) -> Path:
    """Where the ONNX export of a model folder is cached (a new name when its files change)."""
    return cache_dir / f"{model_dir.name}-{fingerprint(model_dir)}.onnx"


class OnnxEncoder:
    """Mean-pooled, normalised sentence vectors from an exported BERT-style encoder."""

    def __init__(self, path: Path, model_dir: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        # Spinning threads would fight llama.cpp for the same cores between calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(_max_length(model_dir))
        self._tokenizer.enable_padding()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Batches of similar length (less padding), returned in the order given."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            vectors[chosen] = self._batch([texts[i] for i in chosen])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self._session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _max_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512


def _mean_pooling(model_dir: Path) -> bool:
    config = model_dir / "1_Pooling" / "config.json"
    if not config.is_file():
        return False
    return bool(json.loads(config.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens"))


def export_errors() -> tuple[type[Exception], ...]:
    """What exporting, checking or running the ONNX model may raise when it cannot be used (a
    missing package, a full disk, an exporter or runtime failure); anything else is a bug and
    is not turned into a warning."""
    errors: list[type[Exception]] = [ImportError, OSError, RuntimeError, ValueError]
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as runtime
    except ImportError:
        return tuple(errors)
    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "InvalidGraph", "InvalidProtobuf")
    return tuple(errors + [getattr(runtime, n) for n in (*names, "RuntimeException")])


def export(model_dir: Path, target: Path) -> None:
    """Write the encoder as ONNX (atomically: a crash leaves no half file)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    sample = torch.ones((1, 4), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "hidden")}
    target.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two processes exporting at once must not write one file.
    partial = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        with torch.inference_mode():
            torch.onnx.export(
                LastHiddenState(),
                (sample, sample, torch.zeros_like(sample)),
                str(partial),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def rejection(model_dir: Path, cache_dir: Path) -> str | None:
    """Why an earlier export of this model was not used, with how to try again; None if not."""
    marker = onnx_path(model_dir, cache_dir).with_suffix(".rejected")
    if not marker.is_file():
        return None
    why = marker.read_text(encoding="utf-8").strip()
    return (
        f"its vectors differed from sentence-transformers' ({why}), so the slower "
        f"sentence-transformers path is used; delete {marker} to export and check again"
    )


def verified_encoder(model_dir: Path, cache_dir: Path, reference: Any) -> OnnxEncoder | None:
    """The ONNX encoder for `model_dir`, exported and checked against `reference()` (the
    sentence-transformers model, loaded only when a check is due); None when it cannot be."""
    if not _mean_pooling(model_dir) or not (model_dir / "tokenizer.json").is_file():
        return None
    path = onnx_path(model_dir, cache_dir)
    marker, rejected = path.with_suffix(".verified"), path.with_suffix(".rejected")
    if rejected.is_file():
        log.warning("ONNX for the embedder is off: %s", rejection(model_dir, cache_dir))
        return None
    if not marker.is_file():
        export(model_dir, path)
        expected = reference().encode(PROBES, normalize_embeddings=True, show_progress_bar=False)
        difference = float(np.abs(OnnxEncoder(path, model_dir).encode(PROBES) - expected).max())
        if difference > TOLERANCE:
            log.warning("ONNX export of %s differs by %.2g: not used", model_dir, difference)
            rejected.write_text(f"max difference {difference:.2g}\n", encoding="utf-8")
            return None
        marker.write_text(f"max difference {difference:.2g}\n", encoding="utf-8")
    return OnnxEncoder(path, model_dir)
