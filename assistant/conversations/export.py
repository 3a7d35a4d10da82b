"""A saved conversation as Markdown: each question, its answer, and the citations as
footnotes (file, title, section or page, the cited text).

Footnotes are numbered through the whole conversation (the second answer's `[1]` may be
`[^3]`), because every answer numbers its own passages from 1 and footnote labels must be
unique in one document.
"""

from __future__ import annotations

import re
import time

from assistant.answering.models import Answer, Citation
from assistant.conversations.restore import restore_answer
from assistant.conversations.store import SavedConversation

_MARKER = re.compile(r"\[(\d+)\]")


def _footnote(label: int, citation: Citation) -> str:
    chunk = citation.hit.chunk
    where = ", ".join(part for part in (chunk.title, chunk.location) if part)
    cited = " ".join((citation.evidence or chunk.text).split())
    head = f"`{chunk.source}`" + (f", {where}" if where else "")
    return f"[^{label}]: {head}: “{cited}”"


def _answer_markdown(answer: Answer, first_label: int) -> tuple[str, list[str]]:
    """The answer text with `[n]` as `[^label]`, and its footnotes."""
    labels = {c.n: first_label + i for i, c in enumerate(answer.citations)}
    cited = {c.n: c for c in answer.citations}

    def footnoted(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[^{labels[n]}]" if n in labels else match.group(0)

    notes = [_footnote(labels[n], cited[n]) for n in sorted(labels, key=labels.__getitem__)]
    return _MARKER.sub(footnoted, answer.text), notes


def export_markdown(conversation: SavedConversation) -> str:
    """The whole conversation as one Markdown document."""
    summary = conversation.summary
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.created))
    lines = [f"# {summary.title}", "", f"*kb conversation, started {when}*", ""]
    notes: list[str] = []
    for turn in conversation.turns:
        answer = restore_answer(turn.answer)
        text, turn_notes = _answer_markdown(answer, len(notes) + 1)
        notes += turn_notes
        lines += [f"**Question:** {turn.question}", "", f"**Answer:** {text}", ""]
        lines += [f"<sub>{answer.backend} · {answer.model}</sub>", ""]
    return "\n".join(lines + notes) + "\n"
