"""kb's retrieval for llama-index applications: a `BaseRetriever` whose nodes are kb's hybrid
hits (dense + BM25, fused as `kb retrieve` fuses them), over kb's index as kb's settings find
it, and a query engine built on it.

    from assistant.integrations.llama_index import KbRetriever
    retriever = KbRetriever.from_settings()
    nodes = retriever.retrieve("When is self-hosting cheaper?")

Each node's text is the chunk's; its metadata: file, title, section, page, location, start, end,
score and similarity (the dense cosine), so a citation can point at the exact passage.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.settings import Settings, load_settings
from assistant.wiring import build_embedder, build_retriever, enforce_offline
from index.models import Hit
from index.retriever import HybridRetriever


class KbRetriever(BaseRetriever):
    """kb's hybrid retrieval as a llama-index retriever: the `top_k` best chunks, best first,
    from `collections` (none: all of them)."""

    def __init__(
        self,
        retriever: HybridRetriever,
        top_k: int = 5,
        collections: Collection[str] | None = None,
        callback_manager: CallbackManager | None = None,
    ):
        super().__init__(callback_manager=callback_manager)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        self._kb = retriever.scoped(collections) if collections else retriever
        self._top_k = top_k

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        top_k: int = 5,
        collections: Collection[str] | None = None,
    ) -> KbRetriever:
        """Over the index kb's settings name (kb's home, `KB_*`, `.env`, `kb.yaml`), with the
        embedder it was built with; offline, as every kb entry point is."""
        enforce_offline()
        settings = settings or load_settings()
        return cls(build_retriever(settings, build_embedder(settings)), top_k, collections)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._kb.retrieve(query_bundle.query_str, top_k=self._top_k)
        return [node_with_score(hit) for hit in hits]


def node_with_score(hit: Hit) -> NodeWithScore:
    """One kb hit as llama-index's scored node; the node id is kb's chunk id."""
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        "file": chunk.source,
        "title": chunk.title,
        "section": " > ".join(chunk.heading_path) or None,
        "page": chunk.page,
        "location": chunk.location,
        "start": chunk.start,
        "end": chunk.end,
        "score": hit.score,
        "similarity": hit.dense,
    }
    node = TextNode(
        id_=f"kb-chunk-{chunk.id}",
        text=chunk.text,
        metadata=metadata,
        # the LLM sees where a passage comes from, not kb's offsets and scores
        excluded_llm_metadata_keys=["start", "end", "score", "similarity"],
        excluded_embed_metadata_keys=list(metadata),
    )
    return NodeWithScore(node=node, score=hit.score)
