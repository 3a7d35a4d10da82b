"""What a scoped question costs before it searches: `HybridRetriever.scoped` and the scope check
of 400 candidate ids, at 100k and 1M synthetic chunks in 5 collections, one run.

    python -m bench.scope_cost [--sizes 100000 1000000]

The chunks are real `Chunk`s with short texts, in 5 collections of equal size in id order (as
an ingest of 5 folders gives them); the first 1% of them (in the first collection) is local-only. Each
retriever is kb's own `HybridRetriever` over an `IndexState` of those chunks, with BM25 replaced
by a stub while it is constructed: building BM25 over 1M texts takes minutes and no part of a
scope touches it. Nothing is searched, so the store is an empty FAISS index.

Per scope, the median cost of one question's scope:
- before: the set of chunk ids in scope built on every question, as `scoped` did before the
  cache (its code is kept below, verbatim, in `UncachedRetriever`);
- first: `scoped` on a fresh retriever, once per scope and index generation now;
- later: `scoped` again, every other question of that generation;
each plus `_in_scope` over 400 candidate ids. Scopes: one collection (an API token, a Slack
channel, a page login); every collection without local-only chunks (an MCP call), on that
index and on the same chunks with none local-only; and unscoped, for reference.

Writes its section of docs/benchmarks.md (`scope-cost`).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import random
import statistics
import sys
import time
from collections.abc import Callable, Collection
from datetime import date
from typing import Any
from unittest import mock

import numpy as np

from bench.report import write_section
from bench.threads import cpu_description
from index.faiss_store import FaissStore
from index.manifest import Manifest
from index.models import collection_of
from index.retriever import HybridRetriever
from index.storage import IndexState
from ingest.models import Chunk

COLLECTIONS = 5
LOCAL_SHARE = 0.01  # of all chunks, local-only, at the start of the first collection
CANDIDATES = 400
COLD_RUNS = 9
WARM_RUNS = 200


class _NoLexical:
    """Stands in for `Bm25Index` while a retriever is built: the scope cost never reaches it."""

    def __init__(self, ids: list[int], texts: list[str]):
        pass


class _UnusedEmbedder:
    id = "none"

    def dimension(self) -> int:
        return 1

    def embed(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("nothing is embedded in this benchmark")


def synthetic_chunks(size: int) -> dict[int, Chunk]:
    """`size` chunks in equal id ranges of `COLLECTIONS` collections, the first `LOCAL_SHARE`
    of them local-only, each with its own meta (as loaded from chunks.jsonl)."""
    chunks: dict[int, Chunk] = {}
    local = int(size * LOCAL_SHARE)
    for i in range(size):
        name = f"c{i * COLLECTIONS // size}"
        meta = {"collection": name} | ({"local_only": "true"} if i < local else {})
        text = f"passage {i} of {name}"
        source = f"docs/{name}/f{i // 10}.md"  # files of 10 chunks
        chunks[i] = Chunk(i, source, None, (), None, 0, len(text), text, meta)
    return chunks


class UncachedRetriever(HybridRetriever):
    """kb's retriever with `scoped` as it was before the scope cache (issue 36), verbatim."""

    def scoped(self, collections: Collection[str] | None, local_only: bool = True) -> Any:
        scoped = copy.copy(self)
        wanted = scoped.collections = frozenset(collections) if collections else None
        scoped._allowed = None
        if wanted is not None or not local_only:
            scoped._allowed = {  # type: ignore[assignment]
                i
                for i, c in self.state.chunks.items()
                if (wanted is None or collection_of(c) in wanted)
                and (local_only or not c.meta.get("local_only"))
            }
        return scoped


def retriever_over(chunks: dict[int, Chunk], kind: type[HybridRetriever]) -> HybridRetriever:
    """A retriever over `chunks`, its BM25 left out (see the module docstring)."""
    state = IndexState(Manifest("none", 1, {}), FaissStore(1), chunks)
    with mock.patch("index.retriever.Bm25Index", _NoLexical):
        return kind(state, _UnusedEmbedder())


def _ms(once: Callable[[HybridRetriever], Any], retriever: HybridRetriever) -> float:
    started = time.perf_counter()
    once(retriever)
    return (time.perf_counter() - started) * 1000


def scope_costs(
    chunks: dict[int, Chunk], wanted: list[str] | None, local_only: bool
) -> dict[str, float]:
    """Median milliseconds per question of one scope: before, first and later (module
    docstring); before and first taken in turn, so a busy moment of the machine hits both."""
    candidates = random.Random(0).sample(range(len(chunks)), CANDIDATES)

    def question(retriever: HybridRetriever) -> list[int]:
        scoped = retriever.scoped(wanted, local_only)
        return [i for i in candidates if scoped._in_scope(i)]

    uncached = retriever_over(chunks, UncachedRetriever)
    cached = retriever_over(chunks, HybridRetriever)
    question(cached)  # its cache filled: every later question of the generation
    before, first = [], []
    for _ in range(COLD_RUNS):
        before.append(_ms(question, uncached))
        first.append(_ms(question, retriever_over(chunks, HybridRetriever)))  # an empty cache
    later = [_ms(question, cached) for _ in range(WARM_RUNS)]
    kept = cached.scoped(wanted, local_only)._allowed
    medians = {"before": before, "first": first, "later": later}
    return {k: statistics.median(v) for k, v in medians.items()} | {
        "set MB": sys.getsizeof(kept) / 2**20 if kept is not None else 0.0
    }


def measure(size: int) -> list[tuple[str, dict[str, float]]]:
    chunks = synthetic_chunks(size)
    rows = [
        ("unscoped", scope_costs(chunks, None, True)),
        ("one collection of 5", scope_costs(chunks, ["c1"], True)),
        ("MCP: every collection, no local-only (1% local-only)", scope_costs(chunks, None, False)),
    ]
    local = {i: c for i, c in chunks.items() if c.meta.get("local_only")}
    chunks.update({i: dataclasses.replace(c, meta={"collection": "c0"}) for i, c in local.items()})
    rows.append(("MCP, the same chunks none local-only", scope_costs(chunks, None, False)))
    return rows


def report(results: dict[int, list[tuple[str, dict[str, float]]]]) -> str:
    lines = [
        "### Scope cost: a scoped question before it searches",
        "",
        "Milliseconds per question of `HybridRetriever.scoped` plus `_in_scope` over "
        f"{CANDIDATES} candidate\nids, synthetic chunks in {COLLECTIONS} collections "
        f"(`bench/scope_cost.py`). Before: the scope's chunk ids\ngathered on every question, "
        "the code before issue 36. First: once per scope and index generation\nnow (a "
        "fresh retriever). Later: every other question of the generation. Medians of "
        f"{COLD_RUNS}\n(before and first, taken in turn) and {WARM_RUNS} (later). Set MB: "
        "what one cached scope holds\n(up to `ScopeCache.SIZE` scopes are kept).",
        "",
        f"{date.today().isoformat()}, {cpu_description()}",
        "",
        "| chunks | scope | before (every question) | first (once per generation) | later "
        "| set MB |",
        "|---|---|---|---|---|---|",
    ]
    for size, rows in results.items():
        for name, cost in rows:
            lines.append(
                f"| {size:,} | {name} | {cost['before']:.2f} | {cost['first']:.2f} "
                f"| {cost['later']:.3f} | {cost['set MB']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    results = {}
    for size in args.sizes:
        results[size] = measure(size)
        print(f"{size:,} chunks done", file=sys.stderr)
    text = report(results)
    print(text)
    write_section("scope-cost", text)


if __name__ == "__main__":
    main()
