from pathlib import Path

import pytest

from assistant.answering.pipeline import AnswerOptions, Assistant
from index.builder import ingest_paths
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.splitter import ChunkingParams
from tests.support.fakes import HashingEmbedder, ScriptedChatModel

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


def indexed_retriever(folder: Path, docs: dict[str, str]) -> HybridRetriever:
    """`docs` written under `folder`/docs (the current directory) and indexed with the
    hashing embedder."""
    (folder / "docs").mkdir()
    for name, text in docs.items():
        (folder / "docs" / name).write_text(text)
    embedder = HashingEmbedder()
    ingest_paths([Path("docs")], Path("index"), embedder, ChunkingParams(), [])
    return HybridRetriever(load_index(Path("index")), embedder)


@pytest.fixture
def retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    return indexed_retriever(tmp_path, DOCS)


def make_assistant(
    retriever: HybridRetriever, replies: object = None, **options: float
) -> Assistant:
    model = ScriptedChatModel(replies) if replies is not None else ScriptedChatModel()  # type: ignore[arg-type]
    return Assistant(retriever, model, retriever._embedder, AnswerOptions(**options))  # type: ignore[arg-type]


def make_page_parts(retriever: HybridRetriever, upload_dir: Path, replies: object = None):  # type: ignore[no-untyped-def]
    """The web page's parts over fakes: a scripted model, a hashing embedder, a real index."""
    from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
    from assistant.documents.library import DocumentLibrary, UploadLimits
    from assistant.frontends.web_events import PageParts

    assistant = make_assistant(retriever, replies)
    choices = [
        BackendChoice("fake", "Scripted test model"),
        BackendChoice("fake-2", "Second scripted model"),
        BackendChoice("hosted-openai", "Hosted: OpenAI-compatible API", False, "not configured"),
    ]
    second = ScriptedChatModel(lambda m: "Owning hardware is cheaper at volume [1].", "scripted-2")
    factories = {"fake": lambda: assistant.chat_model, "fake-2": lambda: second}
    rules = RoutingRules(private="fake", hosted="hosted-openai", fallback=())
    pool = ChatModelPool(choices, factories, "fake", rules)
    limits = UploadLimits(max_file_mb=1, max_files=5)
    library = DocumentLibrary(assistant, Path("index"), upload_dir, ChunkingParams(), None, limits)
    return PageParts(assistant, pool, library, max_upload_mb=1)
