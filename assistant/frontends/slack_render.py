"""What the Slack bot posts: Block Kit for a finished answer (text, then its sources as a
context block, then who answered), and mrkdwn escaping. Pure functions, tested without Slack.
"""

from __future__ import annotations

from typing import Any

from assistant.answering.models import Answer, Evidence

SEARCHING = "_Searching the documents…_"
TOO_FAST = "You are asking faster than I can answer: please wait a minute."
SNIPPET_CHARS = 200


def escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def source_lines(answer: Answer) -> list[str]:
    """One line per cited passage: number, title, section or page, file, quoted snippet."""
    lines = []
    for c in answer.citations:
        chunk = c.hit.chunk
        where = " · ".join(filter(None, [chunk.location, f"`{chunk.source}`"]))
        quote = _snippet(c.evidence or chunk.text)
        lines.append(
            f"*[{c.n}] {escape(chunk.title or chunk.source)}* — {escape(where)}\n> {escape(quote)}"
        )
    return lines


def footer(answer: Answer) -> str:
    """Who answered, how long it took, and any note or routing reason, escaped."""
    total = answer.timings.get("total_s") or 0.0
    parts = [f"{answer.backend} · {answer.model} · {total:.1f} s"]
    if answer.note:
        parts.append(answer.note)
    if answer.route:
        parts.append(answer.route)
    return escape(" — ".join(parts))


def evidence_mrkdwn(evidence: Evidence | None) -> str:
    """What the documents say, quoted, shown before (and above) the model's reply."""
    if evidence is None or not evidence.quotes:
        return ""
    quotes = [f"> “{escape(q)}” [{n}] _{escape(w)}_" for n, q, w in evidence.labelled()]
    return "*What the documents say*\n" + "\n".join(quotes)


def fallback_text(answer: Answer) -> str:
    """The message's plain `text` (notifications, screen readers): the answer, escaped."""
    return escape(answer.text)


def answer_blocks(answer: Answer, feedback_id: str | None = None) -> list[dict[str, Any]]:
    """The Block Kit blocks of a finished answer (with 👍/👎 buttons when `feedback_id`)."""
    evidence = evidence_mrkdwn(answer.evidence_above)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        for text in (evidence, escape(answer.text))
        if text
    ]
    sources = source_lines(answer)
    if sources:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": line}
                    for line in sources[:10]  # Slack's element limit
                ],
            }
        )
    if feedback_id:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action,
                        "text": {"type": "plain_text", "text": label, "emoji": True},
                        "value": feedback_id,
                    }
                    for action, label in (("kb_feedback_up", "👍"), ("kb_feedback_down", "👎"))
                ],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer(answer)}]})
    return blocks
