"""What the web page shows, as Markdown and HTML strings: answers, sources, documents, status.

Pure functions over domain values, so they are tested without a browser. Every piece of
document or user text is HTML-escaped here. Citation markers become `#kb-src-T-N` links that
the page's script (`PAGE_SCRIPT`) turns into "open source N of answer T".
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.models import Answer, Evidence
from assistant.backends.llms.base import usage_text
from index.builder import IngestReport
from index.models import Hit

_MARKER = re.compile(r"\[(\d+)\]")


def source_id(turn: int, n: int) -> str:
    """The HTML id of source `n` under answer `turn`, the target of its citation links."""
    return f"kb-src-{turn}-{n}"


def evidence_markdown(evidence: Evidence | None) -> str:
    """What the documents say, quoted, before (and above) the model's reply."""
    if evidence is None or not evidence.quotes:
        return ""
    quotes = [f"> “{html.escape(q)}” [{n}] · *{html.escape(w)}*" for n, q, w in evidence.labelled()]
    return "**What the documents say**\n\n" + "\n>\n".join(quotes) + "\n\n---\n\n"


def answer_markdown(answer: Answer, turn: int, scope: str | None = None) -> str:
    """The answer with clickable [n] markers, any note, which backend answered how fast, and
    (`scope`) what it searched."""
    cited = {c.n for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[[{n}]](#{source_id(turn, n)})" if n in cited else match.group(0)

    lines = [evidence_markdown(answer.evidence_above) + _MARKER.sub(link, answer.text)]
    if answer.note and (not answer.refused or answer.fell_back):
        lines.append(f"\n*{answer.note}*")
    if answer.route:
        lines.append(f"\n*Route: {answer.route}*")
    spent = usage_text(answer.usage, " · ", detailed=True)
    lines.append(f"\n<sub>{answer.backend} · {answer.model} · {_speed(answer)}{spent}</sub>")
    if scope:
        lines.append(f"<sub>{html.escape(scope)}</sub>")
    return "\n".join(lines)


def _speed(answer: Answer) -> str:
    total = answer.timings.get("total_s") or 0.0
    first = answer.timings.get("first_token_s")
    return f"{total:.1f} s" + (f", first token {first:.1f} s" if first is not None else "")


def _highlight(passage: str, sentence: str) -> str:
    escaped = html.escape(passage)
    needle = html.escape(sentence.strip())
    if needle and needle in escaped:
        return escaped.replace(needle, f'<mark class="kb-evidence">{needle}</mark>', 1)
    return escaped


def _open_key(hit: Hit) -> str:
    chunk = hit.chunk
    return html.escape(f"{chunk.source}|{chunk.start}|{chunk.end}", quote=True)


def _card(turn: int, n: int, hit: Hit, evidence: str, is_open: bool) -> str:
    chunk = hit.chunk
    where = " · ".join(html.escape(part) for part in [chunk.location or "", chunk.source] if part)
    similarity = "" if hit.dense is None else f", similarity {hit.dense:.2f}"
    return (
        f'<details class="kb-source" id="{source_id(turn, n)}"{" open" if is_open else ""}>'
        f"<summary><b>[{n}] {html.escape(chunk.title or chunk.source)}</b>"
        f'<span class="kb-where">{where}</span>'
        f'<span class="kb-score">score {hit.score:.3f}{similarity}</span></summary>'
        f'<div class="kb-passage">{_highlight(chunk.text, evidence)}</div>'
        f'<a href="#" class="kb-open" data-key="{_open_key(hit)}">Open document</a>'
        "</details>"
    )


def _cards(answer: Answer, turn: int, latest: bool) -> list[str]:
    if answer.citations:
        return [_card(turn, c.n, c.hit, c.evidence, latest) for c in answer.citations]
    return [_card(turn, n, h, "", False) for n, h in enumerate(answer.passages, start=1)]


def _heading(answer: Answer) -> str:
    if answer.citations:
        return f"Sources for “{html.escape(answer.question)}”"
    return f"Nearest passages for “{html.escape(answer.question)}” (none cited)"


def sources_html(answers: Sequence[Answer]) -> str:
    """Every answer's sources, newest first; the newest answer's cited passages start open."""
    if not answers:
        return '<div class="kb-empty">Sources of each answer appear here.</div>'
    parts = []
    for turn in range(len(answers) - 1, -1, -1):
        answer = answers[turn]
        latest = turn == len(answers) - 1
        parts.append(f'<div class="kb-turn"><h4>{_heading(answer)}</h4>')
        parts += _cards(answer, turn, latest)
        parts.append("</div>")
    return "".join(parts)


def document_html(title: str | None, source: str, text: str, start: int, end: int) -> str:
    """A whole document, read-only, with the cited span marked (`#kb-doc-mark`)."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    body = (
        html.escape(text[:start])
        + f'<mark id="kb-doc-mark">{html.escape(text[start:end])}</mark>'
        + html.escape(text[end:])
    )
    return (
        f'<div class="kb-document"><h4>{html.escape(title or source)}</h4>'
        f'<div class="kb-where">{html.escape(source)} (read-only)</div>'
        f'<div class="kb-document-text">{body}</div></div>'
    )


def parse_open_key(key: str) -> tuple[str, int, int]:
    """(source, start, end) from a source link's key."""
    source, start, end = key.rsplit("|", 2)
    return source, int(start), int(end)


@dataclass(frozen=True)
class StatusFacts:
    """What the status line shows."""

    documents: int
    chunks: int
    model: str
    device: str  # "CPU" or "GPU (...)"
    hosted_enabled: bool
    last_sync: str | None = None  # KB_WEB__WATCH: when the folders were last synced


def status_markdown(facts: StatusFacts) -> str:
    """The status line as Markdown."""
    mode = (
        "hosted backends enabled"
        if facts.hosted_enabled
        else "offline: nothing leaves this machine"
    )
    synced = f" · {facts.last_sync}" if facts.last_sync else ""
    return (
        f"**{facts.documents}** documents · **{facts.chunks}** chunks · "
        f"model {facts.model} · {facts.device} · {mode}{synced}"
    )


def upload_markdown(report: IngestReport | None, rejected: Sequence[tuple[str, str]]) -> str:
    """One line per uploaded file: added, updated, unchanged, or why it was not taken."""
    lines = [f"- ❌ **{html.escape(name)}**: {html.escape(why)}" for name, why in rejected]
    if report is not None:
        lines += [f"- ✅ **{_name(s)}**: added" for s in report.added]
        lines += [f"- ✅ **{_name(s)}**: updated" for s in report.updated]
        lines += [f"- ✅ **{_name(s)}**: already indexed, unchanged" for s in report.unchanged]
        lines += [f"- ❌ **{_name(s)}**: {html.escape(why)}" for s, why in report.failed]
        lines.append(f"\n{report.chunks} chunks in the index; {report.seconds:.1f} s")
    return "\n".join(lines)


def _name(source: str) -> str:
    return html.escape(source.rsplit("/", 1)[-1])
