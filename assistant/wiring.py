"""Composition root: settings in, a ready `Assistant` out. Heavy imports happen in factories."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.answering.models import AnswerOptions
from assistant.answering.pipeline import Assistant
from assistant.audit.log import AuditLog
from assistant.backends.pool import ChatModelPool
from assistant.backends.profiles import build_pool, profile_prices
from assistant.conversations.store import ConversationStore
from assistant.documents.library import DocumentLibrary, UploadLimits
from assistant.feedback.store import FeedbackStore
from assistant.session import Session
from assistant.settings import EMBEDDER_BACKENDS, Settings
from assistant.telemetry.metrics import observe_ingest
from index.builder import IngestReport, ingest_paths
from index.compaction import compact, compact_in_background
from index.config import IndexConfig
from index.embedders import (
    Embedder,
    SentenceTransformerEmbedder,
    packaged_minilm_path,
)
from index.retriever import HybridRetriever
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


MINILM_ID = "all-MiniLM-L6-v2"  # the packaged embedder, as index manifests name it


def embedder_id(settings: Settings) -> str:
    """The name an index records for the embedder: the packaged one's, or the folder's."""
    path = settings.embedder.model_path
    return path.name if path else MINILM_ID


def onnx_dir(settings: Settings) -> Path:
    """Where the embedder's ONNX export is kept: with the model files."""
    return Path(settings.llm.model_dir)


def _sentence_transformer(settings: Settings) -> Embedder:
    embedder = settings.embedder
    path = embedder.model_path or packaged_minilm_path()
    export = onnx_dir(settings) if embedder.onnx else None
    return SentenceTransformerEmbedder(
        path, embedder_id(settings), embedder.device, onnx_dir=export
    )


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "sentence-transformers": _sentence_transformer,
}


def register_embedder_for_tests(name: str, factory: Callable[[Settings], Embedder]) -> None:
    """A test hook: `KB_EMBEDDER__BACKEND=<name>` then builds the embedder with `factory`."""
    EMBEDDERS[name] = factory
    EMBEDDER_BACKENDS.add(name)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    return EMBEDDERS[settings.embedder.backend](settings)


def _embedder_tokenizer(settings: Settings) -> Path | None:
    if settings.embedder.backend != "sentence-transformers":
        return None
    return Path(settings.embedder.model_path or packaged_minilm_path()) / "tokenizer.json"


def index_config(settings: Settings) -> IndexConfig:
    """The index the settings describe: folder, store, chunking, windows sized to the
    embedder, what an ingest skips, and kb's home (sources are named relative to it)."""
    index, chunking = settings.index, settings.chunking
    return IndexConfig(
        Path(index.dir),
        ChunkingParams(chunking.max_tokens, chunking.min_tokens, chunking.overlap_tokens),
        StoreSpec(
            index.store,
            milvus_uri=index.milvus_uri,
            milvus_collection=index.milvus_collection,
            milvus_index=index.milvus_index,
            ann_threshold=index.ann_threshold,
            search_threads=index.search_threads,
            build_threads=index.build_threads,
        ),
        WindowParams(_embedder_tokenizer(settings)),
        tuple(settings.ingest.exclude),
        settings.ingest.max_file_mb,
        settings.home.path,
        settings.ingest.ocr,
    )


def ingest(
    settings: Settings,
    paths: list[Path],
    embedder: Embedder | None = None,
    graph_now: bool = True,
    **choices: Any,
) -> IngestReport:
    """`ingest_paths` into the settings' index, counted in the metrics, then the search graph's
    work it leaves: at once (a batch job waits for it), or in the background (`kb watch`);
    `choices`: rebuild, lock_wait_s, collection, reindex."""
    config = index_config(settings)
    report = ingest_paths(paths, config, embedder or build_embedder(settings), **choices)
    observe_ingest(report)
    if graph_now:
        compact(config)
    else:
        compact_in_background(config)
    return report


def build_retriever(settings: Settings, embedder: Embedder) -> HybridRetriever:
    """A retriever over the current index; raises when there is none or it was built otherwise."""
    config = index_config(settings)
    state = load_index(config.dir, config.store)
    state.manifest.check(embedder.id, config.chunking.as_dict())
    return HybridRetriever(state, embedder)


def answer_options(settings: Settings) -> AnswerOptions:
    """How the assistant answers, from the answer and llm settings."""
    answer, llm = settings.answer, settings.llm
    return AnswerOptions(
        top_k=answer.top_k,
        min_relevance=answer.min_relevance,
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
    return Assistant(
        retriever,
        pool.router(backend or settings.llm.backend),
        embedder,
        answer_options(settings),
        prices=profile_prices(settings),
    )


def build_library(settings: Settings, assistant: Assistant) -> DocumentLibrary:
    """The documents of a running assistant: its index, the upload folder and limits."""
    limits = UploadLimits(settings.ingest.max_file_mb)
    return DocumentLibrary(assistant, index_config(settings), Path(settings.web.upload_dir), limits)


def build_session(settings: Settings) -> Session:
    """What the page, its API and Slack serve from, built once: the backends, the assistant,
    the upload library, the conversation and feedback stores and the audit log."""
    pool = build_pool(settings)
    assistant = build_assistant(settings, pool=pool)
    library = build_library(settings, assistant)
    conversations = ConversationStore(settings.web.conversations_db)
    feedback = FeedbackStore(settings.feedback.db)
    return Session(assistant, pool, library, conversations, feedback, audit_log(settings))


def audit_log(settings: Settings) -> AuditLog | None:
    """The audit log every answer is recorded in, or None when it is turned off."""
    audit = settings.audit
    if not audit.enabled:
        return None
    return AuditLog(audit.dir, audit.questions, int(audit.max_mb * 2**20))
