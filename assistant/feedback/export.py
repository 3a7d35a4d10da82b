"""The 👎 answers as rows of an evaluation file (../shared/EVAL.md's format) for a person to
complete: the loop from users back to the eval sets.

A row has what a person cannot guess (the question, the conversation before it) and leaves
what only a person can give blank: `gold_snippets` empty, `answer` empty, no `answer_must`.
`type` is a guess (`followup` when there was a history, else `fact`) to be corrected. What kb
said and read is kept beside it (`kb_answer`, `kb_passages`, `kb_backend`) so the person sees
what went wrong; `kb eval` ignores fields it does not know.
"""

from __future__ import annotations

from typing import Any

from assistant.feedback.store import RatedAnswer

ID_PREFIX = "fb-"


def eval_row(rated: RatedAnswer) -> dict[str, Any]:
    """One 👎 answer as an evaluation row without `answer_must`; its id is stable across exports."""
    row: dict[str, Any] = {
        "id": ID_PREFIX + rated.id[:12],
        "question": rated.question,
        "type": "followup" if rated.history else "fact",
    }
    if rated.history:
        row["history"] = [dict(message) for message in rated.history]
    files = list(dict.fromkeys(p.source for p in rated.passages))
    return {
        **row,
        "gold_snippets": [],
        "gold_files": files,
        "answer": "",
        "kb_answer": rated.answer,
        "kb_passages": [
            {"n": p.n, "source": p.source, "location": p.location, "text": p.text, "cited": p.cited}
            for p in rated.passages
        ],
        "kb_backend": rated.backend,
        "rated_by_count": rated.downs,
    }


def disliked_rows(answers: list[RatedAnswer]) -> list[dict[str, Any]]:
    """The rows of the answers with at least one 👎, in the order given."""
    return [eval_row(answer) for answer in answers if answer.downs]
