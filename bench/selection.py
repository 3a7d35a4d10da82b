"""What the model reads: whole passages against question-aware sentence selection, before any
answer is generated (no model runs but the tokenizer: a minute).

For each answerable question of a set, the prompt's passages are built as `kb ask` builds them
and scored by **gold recall**: the share of questions whose whole retrieved passages hold a gold
snippet (EVAL.md's hit rule) that still hold one after selection. Also the prompt's tokens
(messages' text, Qwen2.5-Coder tokenizer). Rows: whole passages, then selection budgets.

    python -m bench.selection [--set eval/tune.jsonl] [--write]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answering.prompting import SelectedPassage, answer_messages, format_passages
from assistant.answering.selection import selected_passages
from assistant.evaluation import is_hit, load_questions, retrieval_query
from bench.prompt_size import tokenizer
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = ((240, 1), (200, 1), (160, 1), (120, 1), (200, 0))


def _holds_gold(passages: Sequence[str | SelectedPassage], item: dict[str, Any]) -> bool:
    texts = [p if isinstance(p, str) else p.text for p in passages]
    return any(is_hit(text, item["gold_snippets"]) for text in texts)


def measure(
    retriever: Any,
    questions: list[dict[str, Any]],
    count: Callable[[str], int],
    budget: int,
    reach: int,
) -> dict[str, Any]:
    """Gold recall against whole passages, and prompt tokens, for one selection budget (0:
    whole passages)."""
    kept, whole_hits, sizes = 0, 0, []
    for item in questions:
        query = retrieval_query(item)
        hits = retriever.retrieve(query, 4)
        whole = [" ".join(h.chunk.text.split()) for h in hits]
        chosen: Sequence[str | SelectedPassage] = (
            selected_passages(query, hits, retriever.embedder, budget, reach) if budget else whole
        )
        if _holds_gold(whole, item):
            whole_hits += 1
            kept += _holds_gold(chosen, item)
        sizes.append(sum(count(m["content"]) for m in answer_messages(query, chosen)))
    return {
        "recall": kept / whole_hits if whole_hits else 0.0,
        "kept": kept,
        "of": whole_hits,
        "p50": statistics.median(sizes),
        "max": max(sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "tune.jsonl")
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    parser.add_argument("--show", type=int, default=0, help="print N questions' prompts")
    args = parser.parse_args()
    from assistant.settings import Settings
    from assistant.wiring import build_embedder, build_retriever

    settings = Settings()
    retriever = build_retriever(settings, build_embedder(settings))
    questions = [q for q in load_questions(args.set) if q["type"] != "unanswerable"]
    count = tokenizer()
    rows = []
    for budget, reach in ((0, 0), *BUDGETS):
        figures = measure(retriever, questions, count, budget, reach)
        name = (
            f"selected sentences, {budget} words, {reach} neighbour(s) each side"
            if budget
            else "four passages whole"
        )
        rows.append(
            f"| {name} | {figures['recall']:.3f} ({figures['kept']} of {figures['of']}) "
            f"| {figures['p50']:.0f} | {figures['max']} |"
        )
        print(rows[-1], flush=True)
    for item in questions[: args.show]:
        query = retrieval_query(item)
        hits = retriever.retrieve(query, 4)
        print(
            f"\n### {query}\n{format_passages(selected_passages(query, hits, retriever.embedder, 200))}"
        )
    if args.write:
        _write(args.set, len(questions), rows)


def _write(path: Path, questions: int, rows: list[str]) -> None:
    write_section(
        "selection",
        "\n".join(
            [
                f"## What the model reads: sentence selection (`bench/selection.py`, {date.today()}, "
                f"{path.name}, {questions} answerable questions)",
                "",
                "Gold recall: of the questions whose four retrieved passages hold a gold snippet, "
                "the share whose prompt still holds one. Prompt tokens: the messages' text, "
                "Qwen2.5-Coder tokenizer (the chat template adds about 10).",
                "",
                "| what the model reads | gold recall | prompt tokens p50 | max |",
                "|---|---|---|---|",
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    main()
