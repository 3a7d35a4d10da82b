"""What the Slack bot posts: Block Kit for a finished answer (evidence, the answer as mrkdwn,
its sources as context blocks, 👍/👎 buttons, then who answered), within Slack's limits.

Pure functions, tested without Slack. The limits are Slack's (see `tests/support/slack_limits`,
which rejects what Slack rejects): a message holds at most 50 blocks, a section's text at most
3,000 characters, a context block at most 10 elements. A long answer is split over several
sections at paragraph, line, sentence or word boundaries (`mrkdwn.split_mrkdwn`), never
inside a word; one too long for 50 blocks, or for about 11,000 characters of text in all, is
shortened at a word with a note saying by how much.
"""

from __future__ import annotations

from typing import Any

from assistant.answering.models import Answer, Evidence
from assistant.errors import KbError
from assistant.frontends.slack.mrkdwn import escape, shorten, split_mrkdwn, to_mrkdwn

__all__ = [
    "SEARCHING",
    "TOO_FAST",
    "answer_blocks",
    "answer_mrkdwn",
    "apology",
    "escape",
    "evidence_mrkdwn",
    "fallback_text",
    "footer",
    "source_lines",
]

SEARCHING = "_Searching the documents…_"
TOO_FAST = "You are asking faster than I can answer: please wait a minute."
SNIPPET_CHARS = 200
MAX_BLOCKS = 50  # per message
SECTION_CHARS = 3000  # a section's text, and a context element's
CONTEXT_ELEMENTS = 10  # per context block
FALLBACK_CHARS = 3000  # the message's `text`: notifications and screen readers show it
# Slack also refuses a message whose blocks hold too much text in all (`msg_blocks_too_long`,
# undocumented; about 12,000 characters: slackapi/bolt-js#2509, #2867): kb stays well under it.
MESSAGE_CHARS = 11_000
EVIDENCE_BLOCKS = 2  # what the documents say is a few quotes; the answer gets the room
FEEDBACK_UP, FEEDBACK_DOWN = "kb_feedback_up", "kb_feedback_down"


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
        line = (
            f"*[{c.n}] {escape(chunk.title or chunk.source)}* — {escape(where)}\n> {escape(quote)}"
        )
        lines.append(shorten(line, SECTION_CHARS))
    return lines


def footer(answer: Answer) -> str:
    """Who answered, how long it took, and any note or routing reason, escaped."""
    total = answer.timings.get("total_s") or 0.0
    parts = [f"{answer.backend} · {answer.model} · {total:.1f} s"]
    if answer.note:
        parts.append(answer.note)
    if answer.route:
        parts.append(answer.route)
    return shorten(escape(" — ".join(parts)), SECTION_CHARS)


def evidence_mrkdwn(evidence: Evidence | None) -> str:
    """What the documents say, quoted, shown before (and above) the model's reply."""
    if evidence is None or not evidence.quotes:
        return ""
    quotes = [f"> “{escape(q)}” [{n}] _{escape(w)}_" for n, q, w in evidence.labelled()]
    return "*What the documents say*\n" + "\n".join(quotes)


def apology(exc: Exception) -> str:
    """What the asker reads when an answer failed: a kb error says why, anything else does not
    (the log has the detail)."""
    why = str(exc) if isinstance(exc, KbError) else "an internal error"
    return f"Sorry, I could not answer that ({escape(why)}). Please try again."


def link_sources(answer: Answer) -> list[str]:
    """What the answer's links may come from: its passages and question, as the pipeline's
    guard judged them when the answer was made."""
    return [h.chunk.text for h in answer.passages] + [answer.question, answer.query]


def answer_mrkdwn(answer: Answer) -> str:
    """The answer's text as Slack mrkdwn, links guarded as on the page."""
    return to_mrkdwn(answer.text, link_sources(answer))


def fallback_text(answer: Answer) -> str:
    """The message's `text` (notifications, screen readers): the answer, cut at a word."""
    return shorten(answer_mrkdwn(answer), FALLBACK_CHARS)


def answer_blocks(
    answer: Answer, feedback_id: str | None = None, scope: str | None = None
) -> list[dict[str, Any]]:
    """The Block Kit blocks of a finished answer; with `feedback_id`, 👍/👎 buttons whose
    `value` is that id go after the sources; `scope` (what was searched) under the footer."""
    tail = _source_blocks(answer)
    if feedback_id is not None:
        tail.append(feedback_block(feedback_id))
    tail.append(_context([footer(answer)] + ([escape(scope)] if scope else [])))
    evidence = _sections(evidence_mrkdwn(answer.evidence_above), EVIDENCE_BLOCKS, SECTION_CHARS)
    blocks_left = MAX_BLOCKS - len(tail) - len(evidence)
    chars_left = MESSAGE_CHARS - _text_chars(evidence + tail)
    return evidence + _sections(answer_mrkdwn(answer), blocks_left, chars_left) + tail


def _text_chars(blocks: list[dict[str, Any]]) -> int:
    """The characters of text in `blocks`: what Slack's cumulative limit counts."""
    texts = [b["text"]["text"] for b in blocks if "text" in b]
    texts += [e["text"] for b in blocks for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    return sum(map(len, texts))


def feedback_block(feedback_id: str) -> dict[str, Any]:
    """👍 and 👎, each carrying `feedback_id` back to the interactivity handler."""
    return {
        "type": "actions",
        "elements": [
            _button("👍", FEEDBACK_UP, feedback_id, "Helpful"),
            _button("👎", FEEDBACK_DOWN, feedback_id, "Not helpful"),
        ],
    }


def _button(emoji: str, action_id: str, value: str, label: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": emoji, "emoji": True},
        "action_id": action_id,
        "value": value,
        "accessibility_label": label,
    }


def _sections(text: str, max_blocks: int, max_chars: int) -> list[dict[str, Any]]:
    """`text` as section blocks of at most SECTION_CHARS each, at most `max_blocks` of them and
    `max_chars` in all; shortened at a word, with a note, when it does not fit."""
    pieces = split_mrkdwn(text, SECTION_CHARS)
    if len(pieces) <= max_blocks and sum(map(len, pieces)) <= max_chars:
        return [_section(piece) for piece in pieces]
    room = max(max_chars - len(_note(10**9)), 0)
    kept = split_mrkdwn(shorten(text, room, suffix=""), SECTION_CHARS)[: max(max_blocks, 1)]
    return [_section(piece) for piece in _shortened(kept or [""], len(text.strip()))]


def _note(left_out: int) -> str:
    return f"\n\n_(answer shortened: {left_out:,} characters more)_"


def _shortened(kept: list[str], total: int) -> list[str]:
    """The kept pieces, the last one ending with a note of how many characters are left out."""
    last = shorten(kept[-1], SECTION_CHARS - len(_note(10**9)), suffix="")
    kept = [*kept[:-1], last]
    left_out = max(total - sum(map(len, kept)), 0)
    return [*kept[:-1], (last + _note(left_out)).strip()]


def _section(text: str) -> dict[str, Any]:
    # verbatim: Slack links only the <url|text> links made here, not URLs or names it spots.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(lines: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in lines]}


def _source_blocks(answer: Answer) -> list[dict[str, Any]]:
    lines = source_lines(answer)
    return [
        _context(lines[i : i + CONTEXT_ELEMENTS]) for i in range(0, len(lines), CONTEXT_ELEMENTS)
    ]
