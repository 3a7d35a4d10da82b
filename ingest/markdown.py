"""Finds structure in Markdown-like text: front matter, `#` headings, plain-text headings."""

from __future__ import annotations

import itertools
import re

import yaml

from ingest.models import Heading

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_MARKUP = re.compile(r"[*_`]+")


def front_matter(text: str) -> tuple[dict[str, object], int]:
    """Return the YAML front matter (empty if none or unparsable) and where the body starts."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, 0
    return (data if isinstance(data, dict) else {}), match.end()


def plain_heading_text(raw: str) -> str:
    """Heading text without emphasis markers, for display in a heading path."""
    return " ".join(_MARKUP.sub("", raw).split())


def find_atx_headings(text: str, start: int = 0) -> list[Heading]:
    """`#`-style headings outside code fences, at or after `start`."""
    fenced = [m.span() for m in _FENCE.finditer(text)]
    headings = []
    for match in _ATX.finditer(text, start):
        if any(a <= match.start() < b for a, b in fenced):
            continue
        headings.append(
            Heading(match.start(), len(match.group(1)), plain_heading_text(match.group(2)))
        )
    return headings


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 8
        and len(line) <= 70
        and line[0].isupper()
        and line[-1] not in ".,;:!"
        and not line.startswith(("-", "*", "•"))
        and ": " not in line
    )


def find_plain_headings(text: str, start: int = 0) -> list[Heading]:
    """Short title-like lines standing alone as a paragraph (plain .txt articles)."""
    paragraphs = [m for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text[start:])]
    headings = []
    for match, following in itertools.pairwise(paragraphs):
        line = match.group(0).strip()
        if "\n" not in line and _looks_like_heading(line) and len(following.group(0)) > len(line):
            headings.append(Heading(start + match.start(), 2, line))
    return headings


def title_from(meta: dict[str, object], headings: list[Heading]) -> str | None:
    """Front-matter title, else the first level-1 heading, else None."""
    title = meta.get("title")
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())
    first = next((h for h in headings if h.level == 1), None)
    return first.text if first else None
