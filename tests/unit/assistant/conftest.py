from pathlib import Path

import pytest

from assistant.answering.models import AnswerOptions
from assistant.answering.pipeline import Assistant
from assistant.backends.fallback import fixed_chain
from assistant.backends.llms.base import ChatModel
from index.builder import ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
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
    for name, text in docs.items():  # a name may hold folders: "hr/pay.md", "hr/.kb-local-only"
        (folder / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "docs" / name).write_text(text)
    embedder = HashingEmbedder()
    ingest_paths([Path("docs")], IndexConfig(Path("index")), embedder)
    return HybridRetriever(load_index(Path("index")), embedder)


@pytest.fixture
def retriever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HybridRetriever:
    monkeypatch.chdir(tmp_path)
    return indexed_retriever(tmp_path, DOCS)


def first_model(assistant: Assistant) -> ChatModel:
    """The model a fake assistant asks first: its scripted one."""
    return assistant.router("", []).chain[0]


def make_assistant(
    retriever: HybridRetriever, replies: object = None, **options: float
) -> Assistant:
    model = ScriptedChatModel(replies) if replies is not None else ScriptedChatModel()  # type: ignore[arg-type]
    return Assistant(retriever, fixed_chain(model), retriever._embedder, AnswerOptions(**options))  # type: ignore[arg-type]


def make_page_parts(  # type: ignore[no-untyped-def]
    retriever: HybridRetriever,
    upload_dir: Path,
    replies: object = None,
    conversations: object = None,
    feedback: object = None,
):
    """The web page's parts over fakes: a scripted model, a hashing embedder, a real index;
    the stores when given."""
    from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
    from assistant.documents.library import DocumentLibrary, UploadLimits
    from assistant.frontends.web.events import PageParts
    from assistant.session import Session

    assistant = make_assistant(retriever, replies)
    choices = [
        BackendChoice("fake", "Scripted test model"),
        BackendChoice("fake-2", "Second scripted model"),
        BackendChoice("hosted-openai", "Hosted: OpenAI-compatible API", False, "not configured"),
    ]
    second = ScriptedChatModel(lambda m: "Owning hardware is cheaper at volume [1].", "scripted-2")
    model = first_model(assistant)
    factories = {"fake": lambda: model, "fake-2": lambda: second}
    rules = RoutingRules(private="fake", hosted="hosted-openai", fallback=())
    pool = ChatModelPool(choices, factories, "fake", rules)
    limits = UploadLimits(max_file_mb=1, max_files=5)
    library = DocumentLibrary(assistant, IndexConfig(Path("index")), upload_dir, limits)
    return PageParts(Session(assistant, pool, library, conversations, feedback))  # type: ignore[arg-type]
