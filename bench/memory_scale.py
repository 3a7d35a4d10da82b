"""Memory of one kb process at 100k and 1M chunks: what each part of a loaded index holds.

    python -m bench.memory_scale [--sizes 100000 1000000] [--no-whole] [--limit MIN]

1. Data: a synthetic index generation per size, written by kb's own `save_index` (manifest,
   chunks.jsonl, files.json, windows.json, FAISS). Chunk texts are the real chunks of the
   index `make index` builds from corpus/ (.kb/index), cycled; each copy ends with a made-up
   word of its own (one new BM25 term per chunk, as names and numbers add in real text, so
   the vocabulary grows with the index instead of staying the corpus's few thousand terms).
   Ten chunks per file; each copy keeps its original's extra window vectors (index/windows.py),
   so the share of windowed chunks is the real index's. Vectors: random 384-d unit vectors
   (seed 0). The FAISS store's `ann_threshold` is set above the vector count: every size is
   the exact `IndexIDMap2(IndexFlatIP)` (HNSW was being changed when this was written; its
   memory at scale is in bench/scale.py).
2. Load, in a fresh child process (its memory is its own) as `kb serve` loads: each file
   `index.storage.load_index` reads, in turn (`_load_generation`'s steps), then
   `HybridRetriever(state, embedder)` (which builds BM25), then the embedder kb's settings
   name (ONNX Runtime on a CPU) with one warm-up query. After each step: RSS, anonymous RSS
   (RssAnon: what the kernel cannot drop and read back from a file) and the peak (VmHWM), and
   the step's seconds. A second child loads through `load_index` itself as a check of the sum
   (and frees what the allocator keeps with `malloc_trim(0)`); a third loads the embedder alone
   (in the first, it may reuse heap the BM25 build freed).
3. Search, in the same child: `retrieve` (the answer's top-k) over the questions of
   eval/tune.jsonl, 3 rounds, one client, then the same with 8 concurrent threads.
4. Experiments (no product change), each in a fresh child: BM25 as `bm25s` saves it, loaded
   again in memory and with `mmap=True` (RSS after load and after 100 queries, query time, the
   same top 10 as kb's in-memory BM25?); the FAISS file read with `IO_FLAG_MMAP` and
   `IO_FLAG_MMAP_IFC` (what the installed faiss does with them for kb's flat index).

The data lives under /tmp/kb-memory-scale and is deleted when a size is done. Both sizes take
about 20 minutes on 2 cores and need about 14 GB of free memory at 1M (the synthetic build's
peak; the load's is about 10 GB). Writes its section `memory-scale` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

from assistant.evaluation import load_questions
from assistant.settings import Settings
from assistant.wiring import build_embedder, index_config
from bench.report import write_section
from index.bm25 import Bm25Index
from index.faiss_store import FLAT_FILE, FaissStore
from index.retriever import HybridRetriever
from index.storage import (
    FileRecord,
    IndexState,
    _chunk_from_json,
    current_generation,
    load_index,
    read_files,
    read_manifest,
    read_windows,
    save_index,
)
from index.stores import StoreSpec, open_store
from index.windows import vector_ids
from ingest.models import Chunk
from ingest.splitter import chunk_id

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/kb-memory-scale")
DIMENSION = 384
CHUNKS_PER_FILE = 10
BLOCK = 50_000  # vectors generated and added per step
ROUNDS = 3  # each question asked this many times, one client and then 8
CLIENTS = 8
BM25_QUERIES = 100
DENSE_K = 120  # what the retriever asks the store for: 40 candidates x 3 with windows
FAISS_FLAGS = ("none", "IO_FLAG_MMAP", "IO_FLAG_MMAP_IFC")
CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"
STEPS = {  # load step -> what it adds
    "imports": "interpreter + imports",
    "chunks": "chunks (chunks.jsonl parsed)",
    "files": "files.json",
    "windows": "windows.json",
    "vectors": "vector store (FAISS exact)",
    "bm25": "BM25 built (HybridRetriever)",
    "embedder": "embedder (ONNX) + 1 query",
}


# --- measuring --------------------------------------------------------------------------------


def memory() -> dict[str, float]:
    """This process's RSS, anonymous and file-backed RSS and peak RSS, in MB."""
    wanted = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in wanted:
            found[wanted[name]] = int(value.split()[0]) / 1024
    return found


class Steps:
    """One JSON line per step in `out`, written at once (a child stopped midway keeps what it
    measured): the step's seconds and the memory after it."""

    def __init__(self, out: Path, launched: float):
        self._out = out.open("a", encoding="utf-8")
        self._began = launched  # the parent's clock at launch: the first step is the start-up
        self._clock: Callable[[], float] = time.time

    def mark(self, step: str, **extra: Any) -> None:
        row = {"step": step, "seconds": self._clock() - self._began, **memory(), **extra}
        self._out.write(json.dumps(row) + "\n")
        self._out.flush()
        self._clock = time.perf_counter
        self._began = time.perf_counter()


def percentiles(times: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = call()
    return (time.perf_counter() - began) * 1000, result


# --- data -------------------------------------------------------------------------------------


def pseudo_word(number: int) -> str:
    """A made-up word of four syllables that only `number` gets (24M of them)."""
    syllables = []
    for _ in range(4):
        number, rest = divmod(number, len(CONSONANTS) * len(VOWELS))
        syllables.append(CONSONANTS[rest // len(VOWELS)] + VOWELS[rest % len(VOWELS)])
    return "".join(syllables)


def synthetic_file(
    first: int, last: int, bases: list[Chunk], real: IndexState
) -> tuple[list[Chunk], FileRecord]:
    """Chunks `first`..`last` (copies of the real ones, each with its own word) as one file."""
    source = f"synthetic/{first // CHUNKS_PER_FILE:07d}.txt"
    made, offset = [], 0
    for number in range(first, last):
        base = bases[number % len(bases)]
        text = f"{base.text} {pseudo_word(number)}"
        end = offset + len(text)
        ident = chunk_id(source, offset, end, text)
        made.append(replace(base, id=ident, source=source, start=offset, end=end, text=text))
        offset = end + 1
    record = replace(
        real.files[bases[first % len(bases)].source],
        sha256=sha256(source.encode()).hexdigest(),
        chunk_ids=tuple(c.id for c in made),
        size=offset,
    )
    return made, record


def synthetic_state(count: int, real: IndexState) -> IndexState:
    """`count` chunks in files of ten, with the real index's windows per original chunk."""
    bases = sorted(real.chunks.values(), key=lambda c: (c.source, c.start))
    state = IndexState(real.manifest, FaissStore(DIMENSION))
    for first in range(0, count, CHUNKS_PER_FILE):
        last = min(first + CHUNKS_PER_FILE, count)
        made, record = synthetic_file(first, last, bases, real)
        state.files[made[0].source] = record
        for number, chunk in enumerate(made, start=first):
            state.chunks[chunk.id] = chunk
            if windows := real.windows.get(bases[number % len(bases)].id, 0):
                state.windows[chunk.id] = windows
    state.manifest = real.manifest.touched(len(state.files), len(state.chunks))
    return state


def add_vectors(state: IndexState, seed: int = 0) -> None:
    """Random unit vectors for every chunk and window, block by block; the store stays exact."""
    ids = [v for c in state.chunks for v in vector_ids(c, state.windows.get(c, 0))]
    state.store = FaissStore(DIMENSION, ann_threshold=len(ids) + 1)
    rng = np.random.default_rng(seed)
    for start in range(0, len(ids), BLOCK):
        block = ids[start : start + BLOCK]
        vectors = rng.normal(size=(len(block), DIMENSION)).astype(np.float32)
        state.store.add(block, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def _char_bytes(text: str) -> int:
    """Bytes a character of `text` takes in a Python string: its widest character decides."""
    widest = max(map(ord, text), default=0)
    return 1 if widest < 256 else 2 if widest < 65536 else 4


def make_child(count: int, folder: Path, steps: Steps) -> None:
    real = load_index(index_config(Settings()).dir)
    widths = Counter(_char_bytes(c.text) for c in real.chunks.values())
    steps.mark("real index", chunks=len(real.chunks), windowed=len(real.windows), widths=widths)
    state = synthetic_state(count, real)
    add_vectors(state)
    steps.mark("made", vectors=len(state.store), windowed=len(state.windows))
    generation = save_index(folder / "index", state)
    sizes = {p.name: p.stat().st_size / 2**20 for p in generation.iterdir()}
    steps.mark("saved", files=len(state.files), disk_mb=sizes)


# --- load and search --------------------------------------------------------------------------


def load_child(folder: Path, steps: Steps) -> None:
    """`load_index`'s steps one at a time, then the retriever, the embedder and searches."""
    steps.mark("imports")
    generation = current_generation(folder / "index")
    assert generation is not None
    lines = (generation / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = {c.id: c for c in map(_chunk_from_json, filter(None, lines))}
    del lines
    steps.mark("chunks", objects_mb=object_mb(chunks))
    files = read_files(generation)
    steps.mark("files")
    windows = read_windows(generation)
    steps.mark("windows")
    store = open_store(generation, StoreSpec())
    steps.mark("vectors", kind=getattr(store, "kind", "?"))
    manifest = read_manifest(folder / "index")
    state = IndexState(manifest, store, chunks, files, windows or {}, windows is not None)
    settings = Settings()
    embedder = build_embedder(settings)
    retriever = HybridRetriever(state, embedder)
    steps.mark("bm25")
    embedder.embed(["warm up"])
    steps.mark("embedder")
    search_steps(retriever, settings.answer.top_k, steps)
    bm25_in_memory(retriever, folder, steps)


def object_mb(chunks: dict[int, Chunk], sample: int = 10_000) -> float:
    """What Python counts for the chunks (objects, strings, the dict), from a sample scaled up:
    the rest of the step's RSS is allocator overhead and heap kept after the parse."""
    seen: set[int] = set()
    total = 0
    picked = list(itertools.islice(chunks.values(), sample))
    for chunk in picked:
        parts = (chunk, chunk.__dict__, *chunk.__dict__.values(), *chunk.heading_path)
        for part in (*parts, *chunk.meta.values()):
            if id(part) not in seen:
                seen.add(id(part))
                total += sys.getsizeof(part)
    return (total * len(chunks) / max(1, len(picked)) + sys.getsizeof(chunks)) / 2**20


def questions() -> list[str]:
    return [q["question"] for q in load_questions(ROOT / "eval" / "tune.jsonl")]


def search_steps(retriever: HybridRetriever, top_k: int, steps: Steps) -> None:
    """`retrieve` p50/p95, one client, then `CLIENTS` threads at once (and queries/s)."""
    asked = questions() * ROUNDS
    retriever.retrieve(asked[0], top_k)  # warm: first-call costs are not search

    def one(question: str) -> float:
        return timed(lambda: retriever.retrieve(question, top_k))[0]

    single = [one(q) for q in asked]
    steps.mark("search, 1 client", queries=len(asked), **percentiles(single))
    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        many = list(pool.map(one, asked))
    qps = len(asked) / (time.perf_counter() - began)
    steps.mark(f"search, {CLIENTS} clients", queries=len(asked), qps=qps, **percentiles(many))


def bm25_queries(index: Bm25Index) -> tuple[list[float], list[list[int]]]:
    """`BM25_QUERIES` searches (the questions, cycled) as the retriever makes them: times in ms,
    and each distinct question's top 10."""
    asked = questions()
    times, tops = [], []
    for number in range(BM25_QUERIES):
        took, found = timed(partial(index.search, asked[number % len(asked)], 40))
        times.append(took)
        if number < len(asked):
            tops.append([chunk for chunk, _ in found[:10]])
    return times, tops


def bm25_in_memory(retriever: HybridRetriever, folder: Path, steps: Steps) -> None:
    """kb's BM25 alone (the oracle for the experiments), then saved as bm25s saves it."""
    index: Bm25Index = retriever._bm25  # the retriever's own, as built at load
    times, tops = bm25_queries(index)
    (folder / "bm25-top.json").write_text(json.dumps(tops))
    steps.mark("BM25 in memory, 100 queries", **percentiles(times))
    index._model.save(str(folder / "bm25"), show_progress=False)
    np.save(folder / "bm25-ids.npy", np.asarray(index._ids, dtype=np.int64))


def whole_child(folder: Path, steps: Steps) -> None:
    """The same load through `load_index` itself: a check of the step-by-step sum."""
    steps.mark("imports")
    settings = Settings()
    state = load_index(folder / "index", index_config(settings).store)
    steps.mark("load_index")
    retriever = HybridRetriever(state, build_embedder(settings))
    retriever.retrieve("warm up")  # loads the embedder
    steps.mark("retriever + embedder")
    # How much of that RSS is heap the allocator keeps after the load's transient copies.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    steps.mark("after malloc_trim(0)")


def embedder_child(folder: Path, steps: Steps) -> None:
    """The embedder alone, loaded and asked once: its share without the index around it
    (in the load above, it may reuse heap the BM25 build freed)."""
    steps.mark("imports")
    build_embedder(Settings()).embed(["warm up"])
    steps.mark("embedder")


# --- experiments ------------------------------------------------------------------------------


def bm25_child(folder: Path, how: str, steps: Steps) -> None:
    """kb's BM25 search over the index bm25s saved, read back into memory or mapped."""
    import bm25s

    steps.mark("imports")
    index = Bm25Index([], [])
    # What Bm25Index would hold had it loaded a saved index instead of building one.
    index._model = bm25s.BM25.load(str(folder / "bm25"), mmap=how == "mmap", show_progress=False)
    index._ids = np.load(folder / "bm25-ids.npy").tolist()
    steps.mark("loaded")
    times, tops = bm25_queries(index)
    same = tops == json.loads((folder / "bm25-top.json").read_text())
    steps.mark("100 queries", same_top10=same, **percentiles(times))


def faiss_child(folder: Path, flag: str, steps: Steps) -> None:
    """kb's flat index read with `flag` (or none), then `DENSE_K` searches as the retriever's."""
    import faiss

    steps.mark("imports")
    generation = current_generation(folder / "index")
    assert generation is not None
    try:
        index = faiss.read_index(str(generation / FLAT_FILE), getattr(faiss, flag, 0))
    except (RuntimeError, AttributeError) as exc:
        return steps.mark("failed", error=f"{type(exc).__name__}: {exc}")
    store = FaissStore(index.d, index, None, ann_threshold=index.ntotal + 1)
    steps.mark("loaded", type=type(index).__name__)
    queries = np.random.default_rng(1).normal(size=(BM25_QUERIES, DIMENSION)).astype(np.float32)
    times, tops = [], []
    for query in queries / np.linalg.norm(queries, axis=1, keepdims=True):
        took, found = timed(partial(store.search, query, DENSE_K))
        times.append(took)
        tops.append([i for i, _ in found[:10]])
    store.vectors([tops[0][0]])  # reconstruct, as the retriever's lexical-only cosines do
    oracle = folder / "faiss-top.json"
    same = tops == json.loads(oracle.read_text()) if oracle.is_file() else None
    if not oracle.is_file():
        oracle.write_text(json.dumps(tops))
    steps.mark("100 searches", same_top10=same, **percentiles(times))


CHILDREN: dict[str, Callable[..., None]] = {
    "make": make_child,
    "load": load_child,
    "whole": whole_child,
    "embedder": embedder_child,
    "bm25": bm25_child,
    "faiss": faiss_child,
}


# --- the run ----------------------------------------------------------------------------------


def run_child(mode: str, args: list[str], out: Path, limit_s: float) -> list[dict[str, Any]]:
    """One child's rows; a child past `limit_s` is stopped and what it measured is kept."""
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.memory_scale", "--child", mode, *args]
    command += ["--out", str(out), "--launched", repr(time.time())]
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=limit_s, check=False)
        ending = [] if done.returncode == 0 else [{"step": "failed", "rc": done.returncode}]
    except subprocess.TimeoutExpired:
        ending = [{"step": "stopped", "limit_s": limit_s}]
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.is_file() else []
    return rows + ending


def measure_size(count: int, limit_s: float, whole: bool) -> dict[str, Any]:
    """Every child for one size, then the data goes."""
    folder = WORK / str(count)
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"chunks": count}

    def child(name: str, mode: str, *args: str) -> None:
        result[name] = run_child(mode, [str(count), str(folder), *args], folder / "out", limit_s)
        print(json.dumps({"chunks": count, name: result[name]}), flush=True)

    child("make", "make")
    child("load", "load")
    if whole:
        child("whole", "whole")
    child("embedder", "embedder")
    if (folder / "bm25").is_dir():
        for how in ("memory", "mmap"):
            child(f"bm25-{how}", "bm25", how)
    for flag in FAISS_FLAGS:
        child(f"faiss-{flag}", "faiss", flag)
    result["bm25_mb"] = sum(p.stat().st_size for p in folder.glob("bm25/*")) / 2**20
    shutil.rmtree(folder)
    return result


# --- report -----------------------------------------------------------------------------------


def _steps(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["step"]: row for row in rows}


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def component_table(results: list[dict[str, Any]]) -> str:
    """Per load step and size: RSS and anonymous RSS it added, the peak so far, its seconds."""
    head = "| step |" + "".join(
        f" {r['chunks']:,}: +RSS MB | +anon MB | peak MB | s |" for r in results
    )
    lines = [head, "|---|" + "---|---|---|---|" * len(results)]
    for step, label in STEPS.items():
        cells = []
        for r in results:
            rows = _steps(r["load"])
            before = rows.get(_previous(step), {"rss": 0.0, "anon": 0.0})
            row = rows.get(step)
            cells.append(
                " | | | |"
                if row is None
                else f" {_mb(row['rss'] - before['rss'])} | {_mb(row['anon'] - before['anon'])}"
                f" | {_mb(row['peak'])} | {row['seconds']:.1f} |"
            )
        lines.append(f"| {label} |" + "".join(cells))
    lines.append("| **total** |" + "".join(_total(r) for r in results))
    return "\n".join(lines)


def _previous(step: str) -> str:
    names = list(STEPS)
    return names[names.index(step) - 1] if names.index(step) else ""


def _total(result: dict[str, Any]) -> str:
    rows = _steps(result["load"])
    last = rows.get("embedder")
    if last is None:
        return " not reached | | | |"
    seconds = sum(rows[s]["seconds"] for s in STEPS)
    return (
        f" **{_mb(last['rss'])}** | **{_mb(last['anon'])}** | {_mb(last['peak'])} | {seconds:.1f} |"
    )


def search_table(results: list[dict[str, Any]]) -> str:
    head = (
        "| chunks | vectors | 1 client p50 ms | p95 ms | 8 clients p50 ms | p95 ms | "
        "8 clients q/s | RSS after MB | peak MB |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        rows = _steps(r["load"])
        one, many = rows.get("search, 1 client"), rows.get(f"search, {CLIENTS} clients")
        if one is None or many is None:
            continue
        vectors = _steps(r["make"])["made"]["vectors"]
        lines.append(
            f"| {r['chunks']:,} | {vectors:,} | {one['p50_ms']:.0f} | {one['p95_ms']:.0f} |"
            f" {many['p50_ms']:.0f} | {many['p95_ms']:.0f} | {many['qps']:.1f} |"
            f" {_mb(many['rss'])} | {_mb(many['peak'])} |"
        )
    return "\n".join(lines)


def experiment_table(results: list[dict[str, Any]]) -> str:
    """BM25 and FAISS loaded other ways: growth over each child's own start-up."""
    head = (
        "| chunks | component, loaded as | load s | +RSS MB | +anon MB | +RSS after 100 queries |"
        " +anon after | query p50 ms | p95 ms | same top 10 |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        lines += [_built_bm25(r)] if "bm25-memory" in r else []
        for name, label in _experiments():
            if name in r:
                lines.append(_experiment_row(r["chunks"], label, r[name]))
    return "\n".join(lines)


def _experiments() -> list[tuple[str, str]]:
    return [
        ("bm25-memory", "BM25, bm25s save → load"),
        ("bm25-mmap", "BM25, bm25s save → load(mmap=True)"),
        ("faiss-none", "FAISS flat, read_index"),
        ("faiss-IO_FLAG_MMAP", "FAISS flat, read_index(IO_FLAG_MMAP)"),
        ("faiss-IO_FLAG_MMAP_IFC", "FAISS flat, read_index(IO_FLAG_MMAP_IFC)"),
    ]


def _built_bm25(result: dict[str, Any]) -> str:
    rows = _steps(result["load"])
    built, before = rows["bm25"], rows["vectors"]
    queried = rows["BM25 in memory, 100 queries"]
    return (
        f"| {result['chunks']:,} | BM25, built at load (kb now) | {built['seconds']:.1f} |"
        f" {_mb(built['rss'] - before['rss'])} | {_mb(built['anon'] - before['anon'])} | | |"
        f" {queried['p50_ms']:.1f} | {queried['p95_ms']:.1f} | (the reference) |"
    )


def _experiment_row(count: int, label: str, child: list[dict[str, Any]]) -> str:
    rows = _steps(child)
    start, loaded = rows.get("imports"), rows.get("loaded")
    used = rows.get("100 queries") or rows.get("100 searches")
    if start is None or loaded is None or used is None:
        trouble = rows.get("failed", {}).get("error") or json.dumps(child[-1:])
        return f"| {count:,} | {label} | failed: {trouble} |" + " |" * 7
    grown = {k: loaded[k] - start[k] for k in ("rss", "anon")}
    after = {k: used[k] - start[k] for k in ("rss", "anon")}
    return (
        f"| {count:,} | {label} | {loaded['seconds']:.1f} | {_mb(grown['rss'])} |"
        f" {_mb(grown['anon'])} | {_mb(after['rss'])} | {_mb(after['anon'])} |"
        f" {used['p50_ms']:.1f} | {used['p95_ms']:.1f} | {_same(used['same_top10'])} |"
    )


def _same(value: bool | None) -> str:
    return "(the reference)" if value is None else "yes" if value else "**no**"


def data_lines(results: list[dict[str, Any]]) -> str:
    """Per size: what was made, the files on disk, and the check through `load_index`."""
    lines = []
    for r in results:
        made, saved = _steps(r["make"]).get("made"), _steps(r["make"]).get("saved")
        if made is None or saved is None:
            lines.append(f"- {r['chunks']:,}: the data was not made: {r['make'][-1:]}")
            continue
        disk = ", ".join(f"{name} {mb:,.1f} MB" for name, mb in sorted(saved["disk_mb"].items()))
        disk += f" (and BM25 as bm25s saves it: {r['bm25_mb']:,.1f} MB)"
        chunks = _steps(r["load"]).get("chunks")
        parse = (
            f"; chunks.jsonl parsed in {chunks['seconds']:.1f} s, its chunks"
            f" {chunks['objects_mb']:,.0f} MB as Python counts them"
            if chunks
            else ""
        )
        lines.append(
            f"- {r['chunks']:,} chunks, {saved['files']:,} files, {made['windowed']:,} chunks"
            f" with windows, {made['vectors']:,} vectors. On disk: {disk}{parse}."
            f"{_whole(r)}{_embedder(r)}"
        )
    return "\n".join(lines)


def _embedder(result: dict[str, Any]) -> str:
    rows = _steps(result.get("embedder", []))
    if "embedder" not in rows:
        return ""
    start, done = rows["imports"], rows["embedder"]
    return (
        f" The embedder alone, in a fresh process: +RSS {_mb(done['rss'] - start['rss'])} MB,"
        f" +anon {_mb(done['anon'] - start['anon'])} MB, {done['seconds']:.1f} s."
    )


def _whole(result: dict[str, Any]) -> str:
    rows = _steps(result.get("whole", []))
    done = rows.get("retriever + embedder")
    if done is None:
        return ""
    loaded = rows["load_index"]
    trimmed = rows.get("after malloc_trim(0)", {})
    return (
        f" Through `load_index` itself: RSS {_mb(done['rss'])} MB, anon {_mb(done['anon'])} MB,"
        f" peak {_mb(done['peak'])} MB (peak after `load_index` alone {_mb(loaded['peak'])} MB),"
        f" {loaded['seconds'] + done['seconds']:.1f} s; after `malloc_trim(0)`"
        f" RSS {_mb(trimmed.get('rss'))} MB (anon {_mb(trimmed.get('anon'))} MB)."
    )


def _widths(real: dict[str, Any]) -> str:
    """How many real chunks Python stores at 1, 2 and 4 bytes a character."""
    counts = real.get("widths", {})
    return "texts at 1/2/4 bytes a character in Python: " + "/".join(
        str(counts.get(str(width), 0)) for width in (1, 2, 4)
    )


def render(results: list[dict[str, Any]], note: str) -> str:
    real = _steps(results[0]["make"]).get("real index", {}) if results else {}
    return f"""### Memory of one kb process at 100k and 1M chunks (`bench/memory_scale.py`, {date.today()}, {os.cpu_count()} CPU cores, no GPU)

A synthetic index generation per size, written by kb's `save_index`: the {real.get("chunks", "?")} real chunk
texts of corpus/ cycled, each copy with a made-up word of its own (so BM25's vocabulary grows
with the index), ten chunks a file, each copy with its original's extra window vectors
({real.get("windowed", "?")} of the {real.get("chunks", "?")} real chunks have some; {_widths(real)}), random 384-d unit vectors, FAISS exact
(`ann_threshold` above the count; HNSW's memory is in the `scale` section). Loaded in a fresh
process as `kb serve` loads it, one step at a time; "+RSS"/"+anon": what the step added to RSS
and to anonymous RSS (what the kernel cannot drop and read back from a file); "peak": VmHWM
so far (transient copies while parsing); "s": the step's seconds (the first: the child's
start-up and imports).

{component_table(results)}

{data_lines(results)}

Search: `retrieve` with the answer's top-k, the {len(questions())} questions of eval/tune.jsonl, {ROUNDS} rounds,
one client, then {CLIENTS} threads at once (same process, after the load above).

{search_table(results)}

Experiments (no product change), each in a fresh process; growth over that process's own
start-up. BM25: kb's `Bm25Index.search` over the index bm25s saved (`BM25.save`), loaded
back; "same top 10": the same chunks as kb's in-memory BM25 for every question. FAISS: kb's
`vectors.faiss` read with each flag, then {BM25_QUERIES} random queries at top-{DENSE_K}; "same top 10": the
same ids as the plain read.

{experiment_table(results)}

{note}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--limit", type=float, default=30, help="minutes per child process")
    parser.add_argument("--no-whole", action="store_true", help="skip the load_index check")
    parser.add_argument("--note", default="", help="what else ran meanwhile, for the report")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        steps = Steps(args.out, args.launched)
        extra = args.rest[2:]
        if args.child == "make":
            return make_child(int(args.rest[0]), Path(args.rest[1]), steps)
        return CHILDREN[args.child](Path(args.rest[1]), *extra, steps)
    load = os.getloadavg()[0]
    results = [measure_size(n, args.limit * 60, not args.no_whole) for n in args.sizes]
    note = f"Load average at the start: {load:.1f}. {args.note}".strip()
    report = render(results, note)
    print(report)
    write_section("memory-scale", report)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
