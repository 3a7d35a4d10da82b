"""Prompt-lookup decoding against plain decoding, same model, same questions, one run.

Answers quote the passages, so guessing the next tokens from the prompt (llama-cpp-python's
`LlamaPromptLookupDecoding`) may speed up writing. Each setting answers the same answerable
questions of eval/tune.jsonl with the default local model; reports writing speed (reply tokens
per second after the first token), whole-answer time and answer_ok. Writes its section of
docs/benchmarks.md.

    python -m bench.prompt_lookup [--questions N] [--tokens 10]
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date
from pathlib import Path
from typing import Any

from assistant.evaluation import holds_terms, load_questions
from bench.report import write_section
from bench.threads import cpu_description

ROOT = Path(__file__).resolve().parent.parent


def measure(lookup: int, questions: list[dict[str, Any]]) -> dict[str, float]:
    from assistant.backends import profiles
    from assistant.settings import Settings
    from assistant.wiring import build_assistant

    profiles.PROMPT_LOOKUP_TOKENS = lookup  # read when the local model is built
    assistant = build_assistant(Settings())
    writing, totals, ok = [], [], []
    for item in questions:
        answer = assistant.ask(item["question"], item.get("history") or [])
        first, total = answer.timings["first_token_s"], answer.timings["total_s"] or 0.0
        tokens = (answer.usage or {}).get("completion_tokens", 0)
        if first is not None and tokens and total > first:
            writing.append(float(tokens) / (total - first))  # type: ignore[arg-type]
        totals.append(total)
        ok.append(holds_terms(answer.text, item))
    return {
        "write_tok_s": statistics.median(writing) if writing else 0.0,
        "answer_p50_s": statistics.median(totals),
        "answer_ok": sum(ok) / len(ok),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=10)
    args = parser.parse_args()
    questions = [
        q for q in load_questions(ROOT / "eval" / "tune.jsonl") if q["type"] != "unanswerable"
    ][: args.questions]
    rows = []
    for lookup in (0, args.tokens):
        figures = measure(lookup, questions)
        name = f"prompt lookup, {lookup} tokens" if lookup else "plain decoding"
        rows.append(
            f"| {name} | {figures['write_tok_s']:.1f} | {figures['answer_p50_s']:.1f} | "
            f"{figures['answer_ok']:.2f} |"
        )
        print(rows[-1], flush=True)
    write_section(
        "prompt-lookup",
        "\n".join(
            [
                f"## Prompt-lookup decoding (`bench/prompt_lookup.py`, {date.today()}, "
                f"{len(questions)} answerable tune questions, default local model)",
                "",
                f"CPU: {cpu_description()}. Same questions, same seed, one run each.",
                "",
                "| decoding | written tok/s p50 | whole answer p50 (s) | answer_ok |",
                "|---|---|---|---|",
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    main()
