"""Composition root: settings in, a ready `Assistant` out. Heavy imports happen in factories."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.answering.pipeline import AnswerOptions, Assistant
from assistant.backends.llms.base import ChatModel
from assistant.backends.pool import ChatModelPool
from assistant.backends.profiles import build_pool, profile_prices
from assistant.documents.library import DocumentLibrary, UploadLimits
from assistant.settings import EMBEDDER_BACKENDS, EmbedderSettings, Settings
from assistant.telemetry.metrics import observe_ingest
from index.builder import IngestReport, ingest_paths
from index.embedders import (
    Embedder,
    SentenceTransformerEmbedder,
    packaged_minilm_path,
)
from index.retriever import FusionParams, HybridRetriever
from index.storage import load_index
from index.stores import StoreSpec
from index.windows import WindowParams
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
    onnx_dir = settings.onnx_dir if settings.onnx else None
    return SentenceTransformerEmbedder(
        path, settings.model_id, settings.device, settings.batch_size, onnx_dir
    )


EMBEDDERS: dict[str, Callable[[EmbedderSettings], Embedder]] = {
    "sentence-transformers": _sentence_transformer,
}


def register_embedder(name: str, factory: Callable[[EmbedderSettings], Embedder]) -> None:
    """An extension point: `KB_EMBEDDER__BACKEND=<name>` then builds the embedder with `factory`."""
    EMBEDDERS[name] = factory
    EMBEDDER_BACKENDS.add(name)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    return EMBEDDERS[settings.embedder.backend](settings.embedder)


def build_chat_model(settings: Settings, backend: str | None = None) -> ChatModel:
    """One profile's model (`hosted` means the configured hosted profile)."""
    return build_pool(settings).get(backend or settings.llm.backend)


def _embedder_tokenizer(settings: Settings) -> Path | None:
    if settings.embedder.backend != "sentence-transformers":
        return None
    return Path(settings.embedder.model_path or packaged_minilm_path()) / "tokenizer.json"


def chunking_params(settings: Settings) -> ChunkingParams:
    """How to chunk, from the settings; counts the embedder's word pieces when asked."""
    chunking = settings.chunking
    tokenizer = _embedder_tokenizer(settings) if chunking.tokens == "embedder" else None
    sizes = chunking.model_dump(exclude={"tokens", "windows"})
    return ChunkingParams(**sizes, tokenizer=tokenizer)


def window_params(settings: Settings) -> WindowParams | None:
    """Embedding windows for chunks longer than the embedder reads (None: off)."""
    if not settings.chunking.windows:
        return None
    return WindowParams(_embedder_tokenizer(settings))


def store_spec(settings: Settings) -> StoreSpec:
    """Which vector store a new index gets, from the settings."""
    index = settings.index
    return StoreSpec(
        index.store,
        index.ann_threshold,
        index.milvus_uri,
        index.milvus_collection,
        index.milvus_index,
    )


def ingest(
    settings: Settings,
    paths: list[Path],
    embedder: Embedder | None = None,
    **choices: Any,
) -> IngestReport:
    """`ingest_paths` with the settings' index, chunking, store, windows, size limit, exclude
    patterns and home; `choices`: rebuild, lock_wait_s, collection, reindex."""
    report = ingest_paths(
        paths,
        settings.index.dir,
        embedder or build_embedder(settings),
        chunking_params(settings),
        settings.ingest.exclude,
        store=store_spec(settings),
        max_file_mb=settings.ingest.max_file_mb,
        windows=window_params(settings),
        base=settings.home.path,
        ocr=settings.ingest.ocr,
        **choices,
    )
    observe_ingest(report)
    return report


def build_retriever(settings: Settings, embedder: Embedder) -> HybridRetriever:
    """A retriever over the current index; raises when there is none or it was built otherwise."""
    state = load_index(Path(settings.index.dir), store_spec(settings))
    state.manifest.check(embedder.id, chunking_params(settings).as_dict())
    return HybridRetriever(state, embedder, fusion_params(settings))


def fusion_params(settings: Settings) -> FusionParams:
    """How retrieval fuses dense and BM25 candidates, from the settings."""
    index = settings.index
    return FusionParams(index.candidates, index.fusion, index.dense_weight)


def answer_options(settings: Settings) -> AnswerOptions:
    """How the assistant answers, from the answer and llm settings."""
    a, llm = settings.answer, settings.llm
    return AnswerOptions(
        top_k=a.top_k,
        min_relevance=a.min_relevance,
        attribution_threshold=a.attribution_threshold,
        echo_threshold=a.echo_threshold,
        echo_min_words=a.echo_min_words,
        context_words=a.context_words,
        drop_below=a.drop_below,
        once_only=a.once_only,
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
    )


def build_assistant(
    settings: Settings, backend: str | None = None, pool: ChatModelPool | None = None
) -> Assistant:
    """The one place where settings become components: an assistant whose backends for each
    question come from `backend` (a profile, `hosted` or `auto`) and the fallback chain."""
    embedder = build_embedder(settings)
    retriever = build_retriever(settings, embedder)
    pool = pool or build_pool(settings)
    requested = backend or settings.llm.backend
    router = pool.router(requested)
    primary = router("", []).chain[0]
    return Assistant(
        retriever,
        primary,
        embedder,
        answer_options(settings),
        prices=profile_prices(settings),
        router=router,
    )


def build_library(settings: Settings, assistant: Assistant) -> DocumentLibrary:
    """The uploads library of a running assistant, with the settings' folders and limits."""
    return DocumentLibrary(
        assistant,
        Path(settings.index.dir),
        Path(settings.web.upload_dir),
        chunking_params(settings),
        store_spec(settings),
        UploadLimits(settings.web.max_upload_mb, settings.web.max_upload_files),
        window_params(settings),
        home=settings.home.path,
        exclude=settings.ingest.exclude,
        ocr=settings.ingest.ocr,
    )
