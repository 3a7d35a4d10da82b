"""Prompt tokens per answer, change by change, on eval/tune.jsonl: no model runs, so it takes a
minute. The prompt is built exactly as `kb ask` builds it (system prompt, passages, question) and
counted with the default GGUF's tokenizer; first-token time is most of a CPU answer's wait, and
it grows with these tokens.

Rows: chunks counted in words and marks, 300/180/60, every top-4 passage whole (the default
before the context budget); then passages far below the best one left out (`answer.drop_below`
0.2); then text neighbouring chunks share given once (`answer.once_only`); chunks counted in the
embedder's word pieces (200/120/40). Sentence selection (`answer.context_words`) is measured
by `bench/selection.py`. Each chunking gets its own index (default settings otherwise,
embedding windows included), built in a temporary folder.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answering.context import close_hits, focused_passages
from assistant.answering.prompting import answer_messages
from assistant.evaluation import load_questions, retrieval_query
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent

PIECES = {
    "KB_CHUNKING__TOKENS": "embedder",
    "KB_CHUNKING__MAX_TOKENS": "200",
    "KB_CHUNKING__MIN_TOKENS": "120",
    "KB_CHUNKING__OVERLAP_TOKENS": "40",
}
WORDS = {
    "KB_CHUNKING__TOKENS": "words",
    "KB_CHUNKING__MAX_TOKENS": "300",
    "KB_CHUNKING__MIN_TOKENS": "180",
    "KB_CHUNKING__OVERLAP_TOKENS": "60",
}


def build_index(folder: Path, env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "assistant", "ingest", "--rebuild"]
    subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **env, "KB_INDEX__DIR": str(folder)},
        check=True,
        capture_output=True,
    )


def retriever_for(folder: Path, env: dict[str, str]) -> Any:
    from assistant.settings import Settings
    from assistant.wiring import build_embedder, build_retriever

    saved = dict(os.environ)
    os.environ.update({**env, "KB_INDEX__DIR": str(folder)})
    try:
        settings = Settings()
        return build_retriever(settings, build_embedder(settings))
    finally:
        os.environ.clear()
        os.environ.update(saved)


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
        words, pieces = Path(tmp, "words"), Path(tmp, "pieces")
        build_index(words, WORDS)
        build_index(pieces, PIECES)
        steps = [
            (
                "chunks in words (300/180/60), four passages whole",
                words,
                WORDS,
                False,
                False,
            ),
            ("+ passages 0.2 below the best left out", words, WORDS, True, False),
            (
                "+ text shared by neighbouring chunks given once",
                words,
                WORDS,
                True,
                True,
            ),
            (
                "option: chunks in the embedder's word pieces (200/120/40), both of the above",
                pieces,
                PIECES,
                True,
                True,
            ),
        ]
        for name, folder, env, drop, trim in steps:
            sizes = prompt_tokens(retriever_for(folder, env), questions, drop, trim, count)
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
