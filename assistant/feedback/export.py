"""The 👎 answers as eval rows in EVAL.md's format, for a person to finish.

`answer_must` is left out on purpose: only a person knows what a right answer must say. The
row carries what kb said and read (`kb_answer`, `kb_passages`, `kb_backend`) so that person
can judge it; `gold_snippets` starts empty and `gold_files` lists the files kb read. The
`type` is a guess (`followup` with history, else `fact`).
"""

from __future__ import annotations

from typing import Any

from assistant.feedback.store import RatedAnswer


def eval_row(rated: RatedAnswer) -> dict[str, Any]:
    """One eval row (a JSON object) for a rated answer."""
    passages = rated.record.get("passages", [])
    cited = {c.get("n") for c in rated.record.get("citations", [])}
    row: dict[str, Any] = {
        "id": f"fb-{rated.id[:12]}",
        "question": rated.question,
        "type": "followup" if rated.history else "fact",
    }
    if rated.history:
        row["history"] = list(rated.history)
    return row | {
        "gold_snippets": [],
        "gold_files": sorted({str(p["source"]) for p in passages}),
        "answer": "",
        "kb_answer": rated.answer,
        "kb_passages": [
            {key: p.get(key) for key in ("n", "source", "title", "location", "text")}
            | {"cited": p.get("n") in cited}
            for p in passages
        ],
        "kb_backend": f"{rated.backend} · {rated.model}",
        "kb_refused": rated.refused,
        "kb_from": rated.source,
        "rated_by_count": rated.downs,
    }


def disliked_rows(answers: list[RatedAnswer]) -> list[dict[str, Any]]:
    """Eval rows for the answers someone rated 👎, the last rated first."""
    return [eval_row(a) for a in answers if a.downs > 0]
