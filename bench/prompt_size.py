"""Prompt tokens per answer, change by change, on eval/tune.jsonl: no model runs, so it takes a
minute. The prompt is built exactly as `kb ask` builds it (system prompt, passages, question) and
counted with the default GGUF's tokenizer; first-token time is most of a CPU answer's wait, and
it grows with these tokens.

Rows: chunks counted in words and marks, 300/180/60, every top-4 passage whole (the default
before the context budget); then passages far below the best one left out (`drop_below`
0.2); then text neighbouring chunks share given once (`once_only`); chunks counted in the
embedder's word pieces (200/120/40). Sentence selection (`context_words`) is measured
by `bench/selection.py`. Each chunking gets its own index (default settings otherwise,
embedding windows included), built in a temporary folder.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answering.prompting import answer_messages
from assistant.answering.selection import close_hits, focused_passages
from assistant.evaluation import load_questions, retrieval_query
from bench.report import write_section
from index.builder import ingest_paths
from index.embedders import packaged_minilm_path
from index.retriever import HybridRetriever
from index.storage import load_index
from ingest.splitter import ChunkingParams

ROOT = Path(__file__).resolve().parent.parent

WORDS = ChunkingParams(300, 180, 60)  # counted in words and marks, the default


def pieces() -> ChunkingParams:
    """200/120/40 counted in the embedder's word pieces: every chunk fits what it reads."""
    return ChunkingParams(200, 120, 40, packaged_minilm_path() / "tokenizer.json")


def build_index(folder: Path, chunking: ChunkingParams) -> Any:
    """An index of the corpus in `folder`, chunked so (default settings otherwise, embedding
    windows included), and a retriever over it."""
    from assistant.settings import Settings
    from assistant.wiring import build_embedder, index_config

    settings = Settings()
    config = replace(index_config(settings), dir=folder, chunking=chunking)
    embedder = build_embedder(settings)
    ingest_paths(list(settings.ingest.paths), config, embedder, rebuild=True)
    return HybridRetriever(load_index(folder, config.store), embedder)


def prompt_tokens(
    retriever: Any,
    questions: list[dict[str, Any]],
    drop: bool,
    trim: bool,
    count: Any,
) -> list[int]:
    sizes = []
    for item in questions:
        query = retrieval_query(item)
        hits = retriever.retrieve(query, 4)
        hits = close_hits(hits, 0.2) if drop else hits
        texts = focused_passages(hits, trim)
        messages = answer_messages(query, texts)
        sizes.append(sum(count(m["content"]) for m in messages))
    return sizes


def tokenizer() -> Any:
    from llama_cpp import Llama

    from assistant.backends.model_files import assemble_default_model

    llama = Llama(
        str(assemble_default_model(ROOT / ".kb" / "models")), vocab_only=True, verbose=False
    )
    return lambda text: len(llama.tokenize(text.encode(), add_bos=False))


def main() -> None:
    questions = [
        q for q in load_questions(ROOT / "eval" / "tune.jsonl") if q["type"] != "unanswerable"
    ]
    count = tokenizer()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        in_words = build_index(Path(tmp, "words"), WORDS)
        in_pieces = build_index(Path(tmp, "pieces"), pieces())
        steps = [
            ("chunks in words (300/180/60), four passages whole", in_words, False, False),
            ("+ passages 0.2 below the best left out", in_words, True, False),
            ("+ text shared by neighbouring chunks given once", in_words, True, True),
            (
                "option: chunks in the embedder's word pieces (200/120/40), both of the above",
                in_pieces,
                True,
                True,
            ),
        ]
        for name, retriever, drop, trim in steps:
            sizes = prompt_tokens(retriever, questions, drop, trim, count)
            rows.append(f"| {name} | {statistics.median(sizes):.0f} | {max(sizes)} |")
            print(rows[-1], flush=True)
    write_section(
        "prompt-size",
        "\n".join(
            [
                f"## Prompt tokens per answer (`bench/prompt_size.py`, {date.today()}, eval/tune.jsonl, "
                f"{len(questions)} answerable questions)",
                "",
                "Counted with the Qwen2.5-Coder tokenizer over the messages kb sends (system prompt, "
                "passages, question); follow-ups use the retrieval query.",
                "",
                "| change | prompt tokens p50 | max |",
                "|---|---|---|",
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    main()
