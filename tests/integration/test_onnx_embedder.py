"""The ONNX Runtime path of the real embedder: same vectors as sentence-transformers, exported
once, and a failed check falls back to sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import index.onnx_encoder
from index.embedders import SentenceTransformerEmbedder, packaged_minilm_path
from tests.conftest import require

pytestmark = pytest.mark.integration

TEXTS = [
    "What does vendor lock-in mean?",
    "Open models " * 200,  # past the model's 256 tokens: truncated the same way
    "Fine-tuning on private data keeps it in house. " * 12,
    "x",
]


def _embedder(onnx_dir: Path | None) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        packaged_minilm_path(), "all-MiniLM-L6-v2", "cpu", 2, onnx_dir
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(_onnx_installed(), "onnxruntime or onnx not installed")
    return tmp_path_factory.mktemp("onnx")


def _onnx_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in ("onnxruntime", "onnx"))


def test_onnx_vectors_match_sentence_transformers(cache: Path) -> None:
    fast = _embedder(cache)
    vectors = fast.embed(TEXTS)
    assert fast.device() == "cpu (onnxruntime)"
    expected = _embedder(None).embed(TEXTS)
    assert vectors.shape == expected.shape == (4, 384)
    np.testing.assert_allclose(vectors, expected, atol=1e-4)


def test_the_export_is_made_once_and_reused(cache: Path) -> None:
    _embedder(cache).embed(["first"])
    (export,) = cache.glob("*.onnx")
    made = export.stat().st_mtime_ns
    again = _embedder(cache)
    assert again.device() == "cpu (onnxruntime)" and again.dimension() == 384
    assert again.embed(["second"]).shape == (1, 384)
    assert export.stat().st_mtime_ns == made


def test_an_export_that_fails_its_check_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(_onnx_installed(), "onnxruntime or onnx not installed")
    monkeypatch.setattr(index.onnx_encoder, "TOLERANCE", -1.0)  # nothing can pass
    rejected = _embedder(tmp_path)
    assert rejected.embed(["a question"]).shape == (1, 384)
    assert rejected.device() == "cpu"
    assert list(tmp_path.glob("*.rejected"))
    reason = index.onnx_encoder.rejection(packaged_minilm_path(), tmp_path)
    assert reason and "delete" in reason and str(next(tmp_path.glob("*.rejected"))) in reason


def test_kb_doctor_shows_a_rejected_export_and_how_to_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.doctor import _embedder as doctor_embedder
    from assistant.settings import Settings

    target = index.onnx_encoder.onnx_path(packaged_minilm_path(), tmp_path)
    target.with_suffix(".rejected").write_text("max difference 0.3\n")
    monkeypatch.setenv("KB_LLM__MODEL_DIR", str(tmp_path))  # the export is kept with the models
    shown = doctor_embedder(Settings())["onnx"]
    assert shown.startswith("off:") and "0.3" in shown and "delete" in shown


def _export_in_a_child(target: str) -> None:
    index.onnx_encoder.export(packaged_minilm_path(), Path(target))


def test_two_processes_exporting_at_once_both_succeed(tmp_path: Path) -> None:
    """Issue 16, item 7: the temporary file was one fixed name, so one export's rename found
    the other's file gone."""
    require(_onnx_installed(), "onnxruntime or onnx not installed")
    import multiprocessing

    target = tmp_path / "minilm.onnx"
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_export_in_a_child, args=(str(target),)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(300)
    assert [child.exitcode for child in children] == [0, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["minilm.onnx"]  # no partial file left
    vectors = index.onnx_encoder.OnnxEncoder(target, packaged_minilm_path()).encode(["a question"])
    assert vectors.shape == (1, 384)
