"""Scale, measured: kb's vector stores at 100k and 1M synthetic vectors, and a large real ingest.

    python -m bench.scale [--sizes 100000 1000000] [--stores ...] [--text | --no-text]

1. Vectors: N random 384-d unit vectors (seed 0) and 1,000 queries, each a small perturbation
   of one chosen base vector (its planted near-duplicate, so rank 1 is known). Per store and
   size: build time (add + save, which for FAISS HNSW builds the graph, for Milvus flushes and
   waits for the index), memory, search p50/p95 at top-40 with one client and with 8
   concurrent client threads (and queries/s), recall@10 against an exact search of the same
   vectors, and how often the planted duplicate comes back at rank 1.
   Stores: FAISS exact and FAISS HNSW through kb's own `FaissStore` (kb's parameters), Milvus
   FLAT and HNSW through kb's `MilvusStore` on a real standalone server (harness/milvus_server.py).
   Then the update figures (bench/scale_updates.py): one document added, and recall@10 after
   ten rounds of churn.
   Each store is built and searched in a child process (its memory is its own, and a build that
   runs past `--build-limit` is stopped and recorded as such); the vectors are generated once
   per size into .npy files under /tmp and shared.
   Memory: FAISS, the child's anonymous RSS growth (the index as kb holds it after `save`);
   Milvus, the server's RSS growth (kb's process holds none of the vectors).
2. Text: every page of the Python 3.11 docs (python3.11-doc, as bench/speed.py) through
   kb's ingest (`wiring.ingest`, default settings) once: seconds, chunks, chunks/s.

Writes its sections of docs/benchmarks.md (`scale`, and `scale-text` with `--text`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import write_section
from bench.scale_updates import CHURN, DOC_VECTORS, ROUNDS, add_document_s, churn_figures
from index import hnsw_graph
from index.faiss_store import SEARCH_THREADS, FaissStore
from index.milvus_store import MilvusStore
from index.stores import VectorStore

DIMENSION = 384
QUERIES = 1_000
TOP = 40  # what the retriever asks the store for (index.candidates)
RECALL_AT = 10
CLIENTS = 8
SINGLE = 200  # queries timed one at a time; all of them run again with 8 clients (recall)
# Milvus: Strong, what kb searched with before, and Session, what an ingest reads now (a page
# waits for its generation's write time, as fast: bench/milvus_server.py)
CONSISTENCIES = ("Strong", "Session")
NOISE = 0.3  # norm of the perturbation: the duplicate's inner product is about 0.96
BLOCK = 50_000  # vectors generated, added and scanned per step (bounded memory at 1M)
STORES = ("faiss-exact", "faiss-hnsw", "milvus-flat", "milvus-hnsw", "faiss-exact-mt")
# kb's graph built 10x shallower (efConstruction 8): a build that fits the session at 1M, to time
# what does not depend on the graph's quality (adding a document, memory); its recall is not kb's
SHALLOW = "faiss-hnsw-shallow"
SHALLOW_DEPTH = 8
ALL_THREADS = "-mt"  # the same store, each search on every core (kb before issue 36; 1 since)
FAST_ENOUGH_MS = 100.0  # p95 at 8 concurrent clients: above it a page feels the search


# --- data -------------------------------------------------------------------------------------


def make_data(count: int, folder: Path, seed: int = 0, queries: int = QUERIES) -> Path:
    """`count` unit vectors, `queries` perturbed copies of chosen ones, and the exact top-10 of
    each query (the oracle), as .npy files in `folder`; reused when already there."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "truth.npy").is_file():
        return folder
    rng = np.random.default_rng(seed)
    base = np.lib.format.open_memmap(
        folder / "base.npy", mode="w+", dtype=np.float32, shape=(count, DIMENSION)
    )
    for start in range(0, count, BLOCK):
        base[start : start + BLOCK] = _unit(rng.normal(size=(min(BLOCK, count - start), DIMENSION)))
    targets = rng.choice(count, size=queries, replace=False)
    noise = _unit(rng.normal(size=(queries, DIMENSION))) * NOISE
    np.save(folder / "queries.npy", _unit(base[targets] + noise))
    np.save(folder / "targets.npy", targets.astype(np.int64))
    base.flush()
    np.save(folder / "truth.npy", exact_top(base, np.load(folder / "queries.npy"), RECALL_AT))
    return folder


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def exact_top(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of each query's k largest inner products, by brute-force numpy (block by block)."""
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(base), BLOCK):
        scores = queries @ np.asarray(base[start : start + BLOCK]).T
        keep = np.argpartition(-scores, k, axis=1)[:, :k]
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, keep, axis=1)])
        best_ids = np.hstack([best_ids, keep + start])
    order = np.argsort(-best_scores, axis=1)[:, :k]
    return np.take_along_axis(best_ids, order, axis=1)


# --- one store --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Which store to build, and where (Milvus: the server's URI and pid)."""

    kind: str
    milvus_uri: str = ""
    milvus_pid: int = 0


def open_store(target: Target, count: int) -> VectorStore:
    """A new, empty kb store of `target.kind`, with the parameters kb uses."""
    threads = 0 if target.kind.endswith(ALL_THREADS) else SEARCH_THREADS
    if target.kind.removesuffix(ALL_THREADS) == "faiss-exact":
        return FaissStore(DIMENSION, ann_threshold=count + 1, search_threads=threads)
    if target.kind == SHALLOW:
        hnsw_graph.BUILD_DEPTH = SHALLOW_DEPTH  # a child process of its own: nothing else sees it
    if target.kind in ("faiss-hnsw", SHALLOW):  # HNSW from the first vector
        return FaissStore(DIMENSION, ann_threshold=min(count, 1), search_threads=threads)
    from index.milvus_store import MilvusStore

    index_type = target.kind.removeprefix("milvus-").upper()
    collection = f"scale_{index_type.lower()}_{count}_{os.getpid()}"
    return MilvusStore(DIMENSION, target.milvus_uri, collection, index_type=index_type)


def measure_store(target: Target, folder: Path, work: Path) -> list[dict[str, Any]]:
    """Build `target` over the vectors in `folder`, then time and check its searches: one row,
    or for Milvus one per search consistency (kb's Strong, and Session)."""
    base = np.load(folder / "base.npy", mmap_mode="r")
    queries = np.load(folder / "queries.npy")
    memory = _memory_probe(target)
    before = memory()
    store = open_store(target, len(base))
    started = time.perf_counter()
    for start in range(0, len(base), BLOCK):
        block = np.asarray(base[start : start + BLOCK])
        store.add(list(range(start, start + len(block))), block)
    if isinstance(store, FaissStore) and (graph_work := store.graph_due()):
        store.adopt(store.new_graph(graph_work), None)  # what kb's compaction does
    work.mkdir(parents=True, exist_ok=True)
    store.save(work)
    _wait_for_index(store)
    built = {"vectors": len(base), "build_s": time.perf_counter() - started}
    built["memory_mb"] = (memory() - before) / 2**20
    rows = []
    for consistency in CONSISTENCIES if isinstance(store, MilvusStore) else [None]:
        if isinstance(store, MilvusStore) and consistency:
            store._reads = {"consistency_level": consistency}
        name = f"{target.kind} ({consistency})" if consistency else target.kind
        rows.append({"store": name, **built, **search_figures(store, queries, folder)})
    if isinstance(store, FaissStore):
        rows[0].update(loaded_memory(work, folder))
    if not target.kind.endswith(ALL_THREADS):
        rows[0]["add_doc_s"] = add_document_s(store, work)
        rows[0].update(churn_figures(store, base, queries))
    _drop(store)
    return rows


def search_figures(store: VectorStore, queries: np.ndarray, folder: Path) -> dict[str, Any]:
    """Latency single-client and with `CLIENTS` threads, recall@10 and duplicate-at-1."""
    store.search(queries[0], TOP)  # warm: first-call costs (loading, connection) are not search
    hits: list[list[int]] = [[] for _ in queries]

    def one(i: int) -> float:
        began = time.perf_counter()
        hits[i] = [chunk for chunk, _ in store.search(queries[i], TOP)]
        return (time.perf_counter() - began) * 1000

    single = [one(i) for i in range(min(SINGLE, len(queries)))]
    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        concurrent = list(pool.map(one, range(len(queries))))
    wall = time.perf_counter() - began
    truth = np.load(folder / "truth.npy")
    targets = np.load(folder / "targets.npy")
    return {
        "p50_ms": float(np.percentile(single, 50)),
        "p95_ms": float(np.percentile(single, 95)),
        "c8_p50_ms": float(np.percentile(concurrent, 50)),
        "c8_p95_ms": float(np.percentile(concurrent, 95)),
        "c8_qps": len(queries) / wall,
        "recall@10": recall_at(hits, truth),
        "dup@1": float(
            np.mean([bool(h) and h[0] == t for h, t in zip(hits, targets, strict=True)])
        ),
    }


def recall_at(hits: list[list[int]], truth: np.ndarray, k: int = RECALL_AT) -> float:
    """Mean share of each query's exact top-k found in the store's top-k."""
    return float(
        np.mean([len(set(h[:k]) & set(t[:k])) / k for h, t in zip(hits, truth, strict=True)])
    )


def _wait_for_index(store: VectorStore, limit_s: float = 3600) -> None:
    """Milvus builds its index after the flush, segment by segment: searches before it is done
    scan the rows brute force, so the build is not over until every row is indexed."""
    client = getattr(store, "_client", None)
    if client is None:
        return
    collection = store.collection  # type: ignore[attr-defined]  # MilvusStore
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        info = client.describe_index(collection, client.list_indexes(collection)[0])
        if int(info.get("pending_index_rows", 0)) == 0 and int(info.get("indexed_rows", 0)) >= len(
            store
        ):
            return
        time.sleep(1)
    raise TimeoutError(f"Milvus did not index {collection} in {limit_s} s")


def _drop(store: VectorStore) -> None:
    client = getattr(store, "_client", None)
    if client is not None:
        client.drop_collection(store.collection)  # type: ignore[attr-defined]  # MilvusStore
    store.close()


def loaded_memory(work: Path, folder: Path) -> dict[str, float]:
    """What a serving kb process holds for the saved FAISS store, in a fresh process: its own
    memory (anonymous RSS) and the pages of the files it maps (a graph's vectors: page cache,
    shared by every process on the machine), after loading it and searching every query."""
    command = [sys.executable, "-m", "bench.scale", "--loaded", str(work), "--data", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded_main(work: Path, folder: Path) -> None:
    pid = os.getpid()
    before = {field: _rss(pid, field) for field in ("RssAnon", "RssFile")}
    store = FaissStore.load(work)
    for query in np.load(folder / "queries.npy"):
        store.search(query, TOP)
    grown = {field: (_rss(pid, field) - before[field]) / 2**20 for field in before}
    print(json.dumps({"loaded_mb": grown["RssAnon"], "mapped_mb": grown["RssFile"]}))


def _memory_probe(target: Target) -> Callable[[], int]:
    """Bytes to watch: this process's anonymous RSS (the mmap'd .npy pages do not count), or
    the Milvus server's RSS with its children."""
    if target.milvus_pid:
        return lambda: sum(_rss(pid, "VmRSS") for pid in _tree(target.milvus_pid))
    return lambda: _rss(os.getpid(), "RssAnon")


def _rss(pid: int, field: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith(field)), 0)


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc (psutil is not a kb dependency)."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            found.extend(_tree(int(text)))
    return found


# --- the run ----------------------------------------------------------------------------------


def run_child(target: Target, folder: Path, limit_s: float) -> list[dict[str, Any]]:
    """`measure_store` in a fresh process; a build past `limit_s` is stopped and recorded."""
    command = [sys.executable, "-m", "bench.scale", "--child", json.dumps(target.__dict__)]
    command += ["--data", str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit_s, check=False)
    except subprocess.TimeoutExpired:
        return [{"store": target.kind, "timed_out_s": limit_s}]
    if done.returncode != 0:
        return [{"store": target.kind, "error": done.stderr.strip().splitlines()[-1:]}]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def child_main(spec: str, folder: Path) -> None:
    target = Target(**json.loads(spec))
    with tempfile.TemporaryDirectory(dir=folder) as work:
        print(json.dumps(measure_store(target, folder, Path(work) / "generation")))


@contextmanager
def milvus_server(kind: str, folder: Path) -> Iterator[Target | None]:
    """The target for `kind`: a Milvus one gets a fresh server of its own (its memory is then
    the collection's alone), or None when the server package is missing."""
    if not kind.startswith("milvus"):
        yield Target(kind)
        return
    from harness.milvus_server import missing_reason, running_milvus

    if reason := missing_reason():
        print(f"{kind} left out: {reason}", flush=True)
        yield None
        return
    with running_milvus(folder / f"milvus-{kind}") as server:
        _wait_for_clients(server.uri)
        yield Target(kind, server.uri, server.pid)
    shutil.rmtree(folder / f"milvus-{kind}", ignore_errors=True)


def _wait_for_clients(uri: str, limit_s: float = 120) -> None:
    """The server's port opens before it serves (several servers starting at once, as tests
    beside this bench start them, take longer): wait until a client gets an answer."""
    from pymilvus import MilvusClient, MilvusException

    deadline = time.monotonic() + limit_s
    while True:
        try:
            MilvusClient(uri=uri).list_collections()
            return
        except MilvusException:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def measure_sizes(
    sizes: list[int], stores: list[str], root: Path, limit_s: float, queries: int = QUERIES
) -> list[dict[str, Any]]:
    """Every store at every size (vectors generated once per size), one child at a time."""
    results = []
    for count in sizes:
        started = time.perf_counter()
        folder = make_data(count, root / f"data-{count}", queries=queries)
        print(f"{count:,} vectors ready in {time.perf_counter() - started:.0f} s", flush=True)
        for kind in stores:
            with milvus_server(kind, root) as target:
                rows = run_child(target, folder, limit_s) if target else []
            for row in rows:
                row.setdefault("vectors", count)
                print(json.dumps(row), flush=True)
            results.extend(rows)
        shutil.rmtree(folder)
    return results


# --- text -------------------------------------------------------------------------------------


def measure_text() -> dict[str, float]:
    """Every Python docs page through kb's ingest with default settings, into a fresh index."""
    from unittest import mock

    from assistant.settings import Settings
    from assistant.wiring import build_embedder, ingest
    from bench.speed import DOCS, python_docs

    pages = python_docs(None)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "pages"
        folder.mkdir()
        for page in pages:
            (folder / "_".join(page.relative_to(DOCS).parts)).symlink_to(page)
        with mock.patch.dict("os.environ", {"KB_INDEX__DIR": str(Path(work) / "index")}):
            settings = Settings()
            embedder = build_embedder(settings)
            embedder.embed(["warm up"])  # the model's load is not ingest
            started = time.perf_counter()
            report = ingest(settings, [folder], embedder, rebuild=True)
            seconds = time.perf_counter() - started
    return {"pages": len(pages), "chunks": report.chunks, "seconds": seconds}


# --- report -----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| vectors | store | build s | memory MB | served MB: own + mapped | p50 ms | p95 ms | 8 clients p50 ms | "
        "8 clients p95 ms | 8 clients q/s | recall@10 | duplicate at 1 | add a document s | "
        "recall@10 after churn |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(_row(r) for r in results)])


def _row(r: dict[str, Any]) -> str:
    lead = f"| {r['vectors']:,} | {r['store']} |"
    if "timed_out_s" in r:
        return lead + f" not done in {r['timed_out_s'] / 60:.0f} min (stopped) |" + " |" * 12
    if "skipped" in r:
        return lead + f" not run: {r['skipped']} |" + " |" * 12
    if "error" in r:
        return lead + f" failed: {' '.join(r['error'])} |" + " |" * 12
    return lead + (
        f" {r['build_s']:.1f} | {r['memory_mb']:,.0f} | {_served(r)} | {_ms(r['p50_ms'])} |"
        f" {_ms(r['p95_ms'])} |"
        f" {_ms(r['c8_p50_ms'])} | {_ms(r['c8_p95_ms'])} | {_ms(r['c8_qps'])} |"
        f" {r['recall@10']:.3f} | {r['dup@1']:.3f} | {_updates(r)}"
    )


def _served(r: dict[str, Any]) -> str:
    if "loaded_mb" not in r:
        return "none in kb's process" if r["store"].startswith("milvus") else ""
    return f"{r['loaded_mb']:,.0f} + {r['mapped_mb']:,.0f}"


def _updates(r: dict[str, Any]) -> str:
    """The add-a-document and churn cells (the rows measured for threads or consistency alone
    have none)."""
    if "add_doc_s" not in r:
        return "| |"
    masked = r.get("churn_masked")
    share = f" ({masked:.0%} of the graph masked)" if masked is not None else ""
    return f"{r['add_doc_s']:.2f} | {r['churn_recall@10']:.3f}{share} |"


def crossover(results: list[dict[str, Any]]) -> str:
    """Per size and exact store: within the threshold (p95 with 8 clients) or not."""
    verdicts = [
        f"{r['store']} at {r['vectors']:,}: 8-client p95 {_ms(r['c8_p95_ms'])} ms, "
        + ("fast enough" if r["c8_p95_ms"] <= FAST_ENOUGH_MS else "too slow")
        for r in results
        if r["store"].startswith("faiss-exact") and "c8_p95_ms" in r
    ]
    return (
        f"Threshold: an exact search is fast enough while its p95 with {CLIENTS} concurrent "
        f"clients stays under {FAST_ENOUGH_MS:.0f} ms. " + "; ".join(verdicts) + "."
    )


def render(results: list[dict[str, Any]], note: str) -> str:
    return f"""### Scale: vector stores at 100k and 1M vectors (`bench/scale.py`, {date.today()}, {os.cpu_count()} CPU cores, no GPU)

Synthetic: N random 384-d unit vectors plus queries (1,000 unless the note says otherwise), each a perturbed copy of one
of them (inner product about 0.96; the rest of the top 10 is chance, about 0.25, the hardest
case for a graph index: real embeddings cluster). Top-{TOP} searches through kb's own stores;
recall@10 against a brute-force numpy search; "duplicate at 1": the planted vector came first.
Memory: FAISS, the building process's anonymous RSS growth after `save` (a graph build also
holds a copy of the vectors while it runs); "served": a fresh process that loads the saved store
and searches every query, its own memory (anonymous RSS) + the pages it maps of the graph's
file (page cache, shared by every kb process on the machine); Milvus, the server process's RSS
growth (the kb process holds none). Milvus: `milvus==2.3.5` standalone on loopback, through
`MilvusStore`. FAISS searches run on one OpenMP thread each (kb's default since issue 36);
`-mt` rows on every core, as before. "Add a document": {DOC_VECTORS} vectors from loading the
saved store to a search that finds them in the new generation; "after churn": {ROUNDS} rounds
of {CHURN:.0%} removed and as many added, kb's graph upkeep between rounds
(bench/scale_updates.py).

{table(results)}

{crossover(results)}

{note}"""


def render_text(text: dict[str, float], note: str) -> str:
    return f"""### Real text at scale: the whole Python 3.11 documentation through kb's ingest ({date.today()})

{text["pages"]:.0f} HTML pages (python3.11-doc), default settings, embedder loaded beforehand:
{text["chunks"]:,.0f} chunks in {text["seconds"]:,.0f} s, {text["chunks"] / text["seconds"]:.1f} chunks/s
({text["pages"] / text["seconds"]:.2f} pages/s). {note}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", choices=[*STORES, SHALLOW], default=list(STORES))
    parser.add_argument("--text", action="store_true", help="the Python docs ingest, alone")
    parser.add_argument("--build-limit", type=float, default=25 * 60, help="seconds per store")
    parser.add_argument("--note", default="", help="what else ran meanwhile, for the report")
    parser.add_argument("--queries", type=int, default=QUERIES, help="planted duplicates")
    parser.add_argument("--section", default="scale", help="its name in docs/benchmarks.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--loaded", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child, args.data)
    if args.loaded:
        return loaded_main(args.loaded, args.data)
    if args.text:
        report = render_text(measure_text(), args.note)
        print(report)
        return write_section("scale-text", report)
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as root:
        results = measure_sizes(args.sizes, args.stores, Path(root), args.build_limit, args.queries)
    report = render(results, args.note)
    print(report)
    write_section(args.section, report)


if __name__ == "__main__":
    main()
