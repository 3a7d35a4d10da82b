"""kb's Milvus store on a real Milvus server: what a question's search and an ingest cost.

Two parts, each against a baseline in the same run:
- search latency through the store at each consistency level kb could use: Strong (the
  collection's default, what kb used before), and what kb uses now (a reader waits for its
  generation's last write; an ingest reads Session);
- `kb ingest` of 500 generated Markdown files, then an update of two thirds of them, with the
  vectors in FAISS and on the server. A bench-local hashing embedder keeps the embedding cost
  near zero, so the figures are the stores' own.

    python -m bench.milvus_server [--files 500] [--queries 200]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import write_section
from harness.milvus_server import running_milvus
from index.builder import ingest_paths
from index.config import IndexConfig
from index.milvus_store import MilvusStore
from index.stores import StoreSpec, open_store

DIMENSION = 384
WORDS = [f"w{n}" for n in range(4000)]


class WordHashEmbedder:
    """Each word hashed into a bucket, normalised: instant, deterministic, not semantic."""

    id = f"bench-hash-{DIMENSION}"

    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % DIMENSION
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def _percentiles(seconds: list[float]) -> str:
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return f"{p50:.1f} ms | {p95:.1f} ms"


def search_latency(uri: str, folder: Path, queries: int) -> list[str]:
    """Rows: consistency level, p50, p95 of one top-40 search through MilvusStore."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writer = MilvusStore(DIMENSION, uri, "bench_latency")
    writer.add(list(range(2000)), vectors)
    writer.save(folder)
    reader = open_store(folder)
    assert isinstance(reader, MilvusStore)
    strong = open_store(folder)
    assert isinstance(strong, MilvusStore)
    strong._reads = {"consistency_level": "Strong"}  # the store as it was: the baseline
    rows = []
    for label, store in [
        ("Strong (before)", strong),
        ("reader: its generation's last write (now)", reader),
        ("writer: Session, its own writes (now)", writer),
    ]:
        seconds = []
        for query in vectors[:queries]:
            started = time.perf_counter()
            store.search(query, 40)
            seconds.append(time.perf_counter() - started)
        rows.append(f"| {label} | {_percentiles(seconds)} |")
    return rows


def _corpus(folder: Path, files: int, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for n in range(files):
        paragraphs = [" ".join(rng.choices(WORDS, k=70)) + "." for _ in range(8)]
        (folder / f"doc{n:04d}.md").write_text("\n\n".join([f"# Document {n}", *paragraphs]))


def _update(folder: Path, rng: random.Random) -> None:
    names = sorted(folder.iterdir())
    for path in rng.sample(names, k=len(names) * 2 // 3):
        path.write_text(path.read_text() + "\n\nUpdated: " + " ".join(rng.choices(WORDS, k=70)))


def ingest_times(uri: str, root: Path, files: int) -> list[str]:
    """Rows: store, first ingest, update ingest (the same corpus and changes for both)."""
    rows = []
    for label, spec in [
        ("FAISS (in the index folder)", StoreSpec()),
        ("Milvus server", StoreSpec(kind="milvus", milvus_uri=uri, milvus_collection="bench")),
    ]:
        rng = random.Random(1)
        work = root / label.split()[0].lower()
        _corpus(work / "docs", files, rng)
        times = []
        for step in range(2):
            started = time.perf_counter()
            report = ingest_paths(
                [work / "docs"],
                IndexConfig(work / "index", store=spec),
                WordHashEmbedder(),
            )
            times.append(time.perf_counter() - started)
            if step == 0:
                _update(work / "docs", rng)
        rows.append(
            f"| {label} | {times[0]:.1f} s | {times[1]:.1f} s ({len(report.updated)} files) |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-milvus-bench-") as tmp:
        root = Path(tmp)
        with running_milvus(root / "milvus") as server:
            (root / "gen").mkdir()
            latency = search_latency(server.uri, root / "gen", args.queries)
            ingest = ingest_times(server.uri, root, args.files)
            started_in = server.started_in_s
    text = "\n".join(
        [
            "## Milvus server: a search and an ingest (`bench/milvus_server.py`, "
            f"{time.strftime('%Y-%m-%d')}, 2 CPU cores)",
            "",
            f"The `milvus` package's standalone server on loopback (up in {started_in:.0f} s). "
            f"One top-40 search of 2,000 vectors through kb's MilvusStore, {args.queries} times:",
            "",
            "| reads wait for | p50 | p95 |",
            "|---|---|---|",
            *latency,
            "",
            f"`kb ingest` of {args.files} generated Markdown files, then of an update of two "
            "thirds of them (a hashing embedder: the time is the store's and kb's own):",
            "",
            "| vectors in | first ingest | update ingest |",
            "|---|---|---|",
            *ingest,
        ]
    )
    print(text)
    write_section("milvus-server", text)


if __name__ == "__main__":
    main()
