from pathlib import Path

import pytest

from assistant.llms.fake import ScriptedChatModel
from assistant.pipeline import AnswerOptions, Assistant
from index.builder import ingest_paths
from index.embedders import HashingEmbedder
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.splitter import ChunkingParams

DOCS = {
    "costs.md": "# Costs\n\nSelf-hosting open models is cheaper at very high volumes than per-token API fees.\n",
    "scale.md": "# Scale\n\n"
    + " ".join(
        "At very high request volumes the fixed cost of owning inference hardware is spread over many "
        "calls, while per-token fees keep growing with every request that the application sends."
        for _ in range(2)
    )
    + "\n",
    "privacy.md": "# Privacy\n\nRunning models on premises keeps sensitive data inside your own infrastructure.\n",
}


@pytest.fixture
def retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).write_text(text)
    embedder = HashingEmbedder()
    ingest_paths([Path("docs")], Path("index"), embedder, ChunkingParams(), [])
    return HybridRetriever(load_index(Path("index")), embedder)


def make_assistant(
    retriever: HybridRetriever, replies: object = None, **options: float
) -> Assistant:
    model = ScriptedChatModel(replies) if replies is not None else ScriptedChatModel()  # type: ignore[arg-type]
    return Assistant(retriever, model, retriever._embedder, AnswerOptions(**options))  # type: ignore[arg-type]
