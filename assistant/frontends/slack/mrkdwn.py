"""The model's Markdown-ish reply as Slack mrkdwn, and long mrkdwn split where Slack allows.

Slack does not render Markdown in a section's text: `**bold**` shows its stars, `# Heading` its
hash, `[text](url)` its brackets. So headings become bold lines, bullets `•`, `**x**`/`__x__`
bold `*x*`, `*x*` italic `_x_`; code spans and fenced code stay as they are. Everything else
has `&`, `<` and `>` escaped, so no text can ping `<!channel>` or forge a `<url|link>`.

Links follow the page's rule (`assistant.guards.links.defuse_links`, the same function, not a
copy): a URL is linked only when that guard keeps it; a Markdown link whose URL it drops keeps
its text, unlinked, and a bare URL it drops becomes "(link removed)". Section texts are sent
`verbatim`, so Slack does not link anything kb did not link itself.

This module does not build blocks (`render` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.guards.links import REMOVED, defuse_links

_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<link>!?\[(?P<label>[^\[\]\n]*)\]\(\s*<?(?P<url>[^()\s<>]+)>?\s*\))"
    r"|(?P<bare>(?:\b[a-z][a-z0-9+.-]*:)?//[^\s<>\"'`()\[\]]+|\bwww\.[^\s<>\"'`()\[\]]+)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_QUOTE = re.compile(r"^>[ \t]?(.*)$")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$")
_BOLD_MARK = "\x00"  # stands for a bold `*` until italics are done, so they do not meet
_TRAILING = ".,;:!?"


def escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str, link_sources: Sequence[str]) -> str:
    """`text` (Markdown as models write it) as Slack mrkdwn, links judged against
    `link_sources` (the passages and the question) the way the page judges them."""
    parts, last = [], 0
    for fence in _FENCE.finditer(text):
        parts.append(_lines(text[last : fence.start()], link_sources))
        parts.append("```\n" + escape(fence.group(1).rstrip("\n")) + "\n```")
        last = fence.end()
    parts.append(_lines(text[last:], link_sources))
    return "".join(parts)


def _lines(text: str, sources: Sequence[str]) -> str:
    return "\n".join(_line(line, sources) for line in text.split("\n"))


def _line(line: str, sources: Sequence[str]) -> str:
    if heading := _HEADING.match(line):
        return "*" + _inline(heading.group(1), sources, bold=False) + "*"
    if bullet := _BULLET.match(line):
        return bullet.group(1) + "• " + _inline(bullet.group(2), sources)
    if quote := _QUOTE.match(line):
        return "> " + _inline(quote.group(1), sources)
    if _RULE.match(line):
        return "―――"
    return _inline(line, sources)


def _inline(text: str, sources: Sequence[str], bold: bool = True) -> str:
    """Code spans and links as mrkdwn; the text between them escaped and restyled."""
    out, last = [], 0
    for token in _INLINE.finditer(text):
        out.append(_styled(text[last : token.start()], bold))
        out.append(_token(token, sources, lambda label: _styled(label, bold)))
        last = token.end()
    out.append(_styled(text[last:], bold))
    return "".join(out)


def _styled(text: str, bold: bool) -> str:
    text = _BOLD.sub(lambda m: _BOLD_MARK + (m.group(1) or m.group(2)) + _BOLD_MARK, escape(text))
    text = _ITALIC.sub(r"_\1_", text)
    return text.replace(_BOLD_MARK, "*" if bold else "")


def _token(token: re.Match[str], sources: Sequence[str], style: Callable[[str], str]) -> str:
    if token.group("code"):
        return escape(token.group("code"))
    if token.group("link"):
        label, url = token.group("label").strip(), token.group("url")
        if not _kept(url, sources):
            return style(label)
        return f"<{_href(url)}|{style(label)}>" if label else f"<{_href(url)}>"
    whole = token.group("bare")
    url = whole.rstrip(_TRAILING)
    tail = escape(whole[len(url) :])
    return (f"<{_href(url)}>" if _kept(url, sources) else REMOVED) + tail


def _kept(url: str, sources: Sequence[str]) -> bool:
    """Whether the page's link guard keeps `url` (it replaces a URL it drops by REMOVED)."""
    return REMOVED not in defuse_links(url, sources)


def _href(url: str) -> str:
    """A URL inside `<…|…>`: escaped, and `|` (which would end it) percent-encoded."""
    return escape(url).replace("|", "%7C")


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at a paragraph, else a line, else a
    sentence, else a word boundary (never inside a `<…>` link); a code fence cut in two is
    closed and reopened. Only a single word longer than `limit` is ever cut inside."""
    room = limit - len("```\n") - len("\n```")  # what a reopened, re-closed fence adds
    pieces, rest = [], text.strip()
    while len(rest) > room:
        cut = _cut_point(rest, room)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return _balance_fences(pieces)


_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s|(?<=[.!?][\"')\]])\s"),
    re.compile(r"\s"),
)


def _cut_point(text: str, room: int) -> int:
    """Where to cut `text` so the first piece holds at most `room` characters: the strongest
    boundary in its second half, else the last word boundary at all."""
    window = text[: room + 1]
    links = [m.span() for m in re.finditer(r"<[^<>\n]*>", window)]
    for n, boundary in enumerate(_BOUNDARIES):
        floor = 0 if n == len(_BOUNDARIES) - 1 else room // 2
        cuts = [
            m.start()
            for m in boundary.finditer(window)
            if m.start() > floor and not any(a < m.start() < b for a, b in links)
        ]
        if cuts:
            return cuts[-1]
    return room  # one word longer than a block: nothing else to do


def _balance_fences(pieces: list[str]) -> list[str]:
    out, carry = [], False
    for piece in pieces:
        text = ("```\n" if carry else "") + piece
        carry = text.count("```") % 2 == 1
        out.append(text + ("\n```" if carry else ""))
    return out


def shorten(text: str, limit: int, suffix: str = "…") -> str:
    """`text` cut at its last whitespace before `limit` characters (suffix included)."""
    if len(text) <= limit:
        return text
    room = limit - len(suffix)
    cut = max(text.rfind(" ", 0, room + 1), text.rfind("\n", 0, room + 1))
    return text[: cut if cut > 0 else room].rstrip() + suffix
