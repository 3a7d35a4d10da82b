"""Issue 16, item 8: runtime checks are real errors (an `assert` vanishes under `python -O`),
and broad `except Exception` no longer turns programming errors into warnings."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import index.onnx_encoder
from assistant.answering.pipeline import Assistant
from assistant.backends.llms.base import Message
from assistant.errors import IncompleteAnswerError
from index.embedders import SentenceTransformerEmbedder
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_assistant

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = [ROOT / "app.py", *(ROOT / p for p in ("assistant", "index", "ingest"))]


def _sources() -> Iterator[Path]:
    for path in PRODUCT:
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def test_product_code_has_no_assert_statements() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_a_stream_without_its_final_answer_is_an_error(
    retriever: HybridRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant(retriever, ["unused"])
    monkeypatch.setattr(Assistant, "stream", lambda *a, **k: iter(["only ", "tokens"]))
    with pytest.raises(IncompleteAnswerError, match="ask again"):
        assistant.ask("Is self-hosting cheaper?")


def test_a_programming_error_while_condensing_is_not_hidden(retriever: HybridRetriever) -> None:
    def script(messages: Sequence[Message]) -> str:
        if "Rewritten question" in messages[-1]["content"]:
            raise TypeError("a bug in the condensing code")
        return "Yes [1]."

    history: list[Message] = [
        {"role": "user", "content": "What about privacy?"},
        {"role": "assistant", "content": "On-prem keeps data in."},
    ]
    with pytest.raises(TypeError, match="a bug"):
        make_assistant(retriever, script).ask("And the cost?", history)


def _onnx_failing_with(
    error: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SentenceTransformerEmbedder:
    def fail(*_: object) -> None:
        raise error

    monkeypatch.setattr(index.onnx_encoder, "verified_encoder", fail)
    return SentenceTransformerEmbedder(tmp_path, "minilm", "cpu", onnx_dir=tmp_path)


def test_an_onnx_export_that_cannot_work_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = _onnx_failing_with(OSError("no space left on device"), tmp_path, monkeypatch)
    assert embedder._load_onnx(tmp_path) is None


def test_a_bug_in_the_onnx_path_is_not_turned_into_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = _onnx_failing_with(TypeError("a bug"), tmp_path, monkeypatch)
    with pytest.raises(TypeError):
        embedder._load_onnx(tmp_path)
