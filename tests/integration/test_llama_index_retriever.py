"""kb's retrieval inside llama-index (the installed llama-index-core): `KbRetriever` returns
kb's hybrid hits as scored nodes, in kb's order, with the passage's file, section, page and
score; scoped to collections; read from kb's index with the real embedder; and a query engine
built on it answers from exactly those nodes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore

from assistant.integrations.llama_index import KbRetriever
from assistant.settings import Settings
from assistant.wiring import build_embedder, build_retriever, ingest
from index.retriever import HybridRetriever
from tests.conftest import MODEL_DIR, require
from tests.unit.assistant.conftest import retriever  # noqa: F401  (fixture)

QUESTION = "Is self-hosting cheaper at high volumes?"


def test_nodes_are_kbs_hits_in_kbs_order(retriever: HybridRetriever) -> None:  # noqa: F811
    hits = retriever.retrieve(QUESTION, top_k=3)
    nodes = KbRetriever(retriever, top_k=3).retrieve(QUESTION)
    assert all(isinstance(n, NodeWithScore) for n in nodes)
    assert [n.node.get_content() for n in nodes] == [h.chunk.text for h in hits]
    assert [n.score for n in nodes] == [h.score for h in hits]
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    first, hit = nodes[0].node.metadata, hits[0]
    assert first["file"] == hit.chunk.source and first["file"].startswith("docs/")
    assert first["section"] == " > ".join(hit.chunk.heading_path) and first["page"] is None
    assert (first["start"], first["end"], first["score"]) == (
        hit.chunk.start,
        hit.chunk.end,
        hit.score,
    )
    assert nodes[0].node.node_id == f"kb-chunk-{hit.chunk.id}"
    assert len(KbRetriever(retriever, top_k=1).retrieve(QUESTION)) == 1


def test_the_llm_sees_where_a_passage_comes_from_not_its_offsets(
    retriever: HybridRetriever,  # noqa: F811
) -> None:
    from llama_index.core.schema import MetadataMode

    node = KbRetriever(retriever).retrieve(QUESTION)[0].node
    shown = node.get_content(metadata_mode=MetadataMode.LLM)
    assert "file: docs/" in shown and "score:" not in shown and "start:" not in shown


def test_settings_find_kbs_index_and_collections_scope_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # kb's home in tests (KB_HOME=.)
    for collection, name, text in (
        ("costs", "prices.md", "# Prices\n\nSelf-hosting is cheaper at very high volumes.\n"),
        ("privacy", "data.md", "# Data\n\nOn-premise models keep sensitive data in house.\n"),
    ):
        (tmp_path / collection).mkdir()
        (tmp_path / collection / name).write_text(text)
        ingest(Settings(), [tmp_path / collection], collection=collection)
    settings = Settings()  # the real sentence-transformers embedder, as `kb` uses it
    kb = build_retriever(settings, build_embedder(settings))
    nodes = KbRetriever.from_settings(top_k=2).retrieve(QUESTION)
    assert [n.node.get_content() for n in nodes] == [h.chunk.text for h in kb.retrieve(QUESTION, 2)]
    assert nodes[0].node.metadata["file"] == "costs/prices.md"
    scoped = KbRetriever.from_settings(top_k=2, collections=["privacy"]).retrieve(QUESTION)
    assert [n.node.metadata["file"] for n in scoped] == ["privacy/data.md"]

    # no max_tokens: MockLLM answers with its prompt
    engine = RetrieverQueryEngine.from_args(KbRetriever.from_settings(top_k=2), llm=MockLLM())
    response = engine.query(QUESTION)
    prompt = str(response)
    assert "Self-hosting is cheaper at very high volumes." in prompt  # kb's passage reached it
    assert "file: costs/prices.md" in prompt and "score:" not in prompt
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in nodes]


def test_top_k_must_be_positive(retriever: HybridRetriever) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="top_k"):
        KbRetriever(retriever, top_k=0)


def test_query_engine_answers_with_kbs_local_gguf_through_llama_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama-index application's own LLM object (llama-index-llms-llama-cpp over kb's 0.5B
    GGUF) answers from kb's hits: the answer names the figure only the passage holds."""
    gguf = MODEL_DIR / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    require(importlib.util.find_spec("llama_index.llms.llama_cpp") is not None, "no llama-cpp llm")
    require(gguf.is_file(), f"{gguf} missing: run `make model`")
    from llama_index.llms.llama_cpp import LlamaCPP

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "plan.md").write_text(
        "# Plan\n\nThe Falcon cluster costs 4,700 euros a month to run.\n"
    )
    ingest(Settings(), [tmp_path / "docs"])
    llm = LlamaCPP(
        model_path=str(gguf), temperature=0.0, max_new_tokens=32, context_window=2048, verbose=False
    )
    engine = RetrieverQueryEngine.from_args(KbRetriever.from_settings(top_k=1), llm=llm)
    response = engine.query("How much does the Falcon cluster cost a month?")
    assert "4,700" in str(response) or "4700" in str(response)
    assert [n.node.metadata["file"] for n in response.source_nodes] == ["docs/plan.md"]
