"""Page furniture: the lines of a scraped page that are not the document's own prose.

Advertisements (a call to action and the selling paragraphs above it), image captions and
credits ("Source: Image created by author"), image alt text, buttons ("Learn More", "Get
Started"), share and subscribe prompts, cookie notices, navigation lines, and "Further reading"
sections. Indexed as text, they would be retrieved and quoted as answers; they are left out at
ingest and kept in `Document.dropped`, so `kb docs show PATH --dropped` shows what went.

Rules only: each one names a shape that prose does not take (a button has no full stop, a
credit line names an image). What this module does not do: read HTML structure (navigation
tags are left out earlier, by `ingest.html_text`), or compare documents with each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION = "1"  # recorded per file: a file cleaned by an older version is read again

_LEAD = r"^[\W_]*"  # emoji, arrows and bullets before a button's words
_CALL_TO_ACTION = re.compile(
    _LEAD + r"(learn more|read more|find out more|get started|start now|sign up|sign in|log in"
    r"|subscribe|share (this|on)|click here|download now|try (it )?(for )?free|start (your )?free"
    r"|book a (demo|call)|request a demo|contact (us|sales)|follow us|buy now|shop now|join (now|us)"
    r"|register (now|today)|see pricing|view pricing)\b",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^\W*((image|photo|picture|illustration|figure|graphic)s?\s*(source|credit|courtesy|by)\b"
    r"|(source|credit|courtesy)s?\s*:\s*(an? )?(image|photo|picture|illustration|graphic|"
    r"shutterstock|unsplash|getty|pexels|adobe stock|wikimedia)"
    r"|(image|photo|illustration) (created|made|generated) by\b)",
    re.IGNORECASE,
)
_ALT_TEXT = re.compile(
    r"\b(illustration|image|photo|picture|screenshot|diagram|logo|icon|banner|thumbnail)$",
    re.IGNORECASE,
)
_SELLING = re.compile(
    r"\$\s?\d[\d.,]*\s*(/|per\s)\s*(hr|hour|month|mo|user|seat)\b|\bstarting at\b|\bfree trial\b"
    r"|\bzero hidden fees\b|\b(accelerate|power|supercharge|boost|transform|secure|streamline)"
    r" your\b|\bour( [\w-]+){1,3} (help|helps|let|lets|make|makes) you\b",
    re.IGNORECASE,
)
_COOKIES = re.compile(
    r"\b(we use cookies|(site|website) uses cookies|accept (all )?cookies"
    r"|cookie (policy|settings|preferences))\b",
    re.IGNORECASE,
)
_NAVIGATION = re.compile(
    r"^(skip to (main )?content|back to top|toggle navigation|previous (post|article)"
    r"|next (post|article)|table of contents)$",
    re.IGNORECASE,
)
_MENU_SEPARATOR = re.compile(r"\s(?:\||·|•|›|»|/)\s")
_TRAILING_SECTION = re.compile(
    r"^(#+\s*)?(further (reading|resources)|related (articles|posts|reading|content)"
    r"|you (may|might) also (like|enjoy)|share this( (article|post|page))?|about the author"
    r"|leave a (comment|reply)|comments|newsletter|subscribe( to [\w ]+)?)\s*:?$",
    re.IGNORECASE,
)
_ATX = re.compile(r"^(#{1,6})\s")
_ENDS_SENTENCE = re.compile(r"[.:;,]$")


@dataclass(frozen=True)
class Cleaned:
    """A document body without its furniture, and the lines left out (stripped)."""

    text: str
    dropped: tuple[str, ...]


def _words(line: str) -> int:
    return len(line.split())


def _is_button(line: str) -> bool:
    """A call to action: a short line that starts with one and ends without a full stop."""
    return bool(_CALL_TO_ACTION.match(line)) and _words(line) <= 10 and not line.endswith(".")


def _is_title_like(line: str) -> bool:
    return 0 < _words(line) <= 10 and not _ENDS_SENTENCE.search(line)


def _is_menu(line: str) -> bool:
    """A navigation bar or breadcrumb: three or more short items between separators."""
    if line.startswith("|"):  # a Markdown table row
        return False
    items = _MENU_SEPARATOR.split(line)
    return len(items) >= 3 and all(0 < _words(item) <= 3 for item in items)


def _is_lone_furniture(line: str) -> bool:
    """A line that is furniture whatever surrounds it."""
    return (
        _is_button(line)
        or (bool(_CREDIT.match(line)) and _words(line) <= 12)
        or (bool(_ALT_TEXT.search(line)) and _words(line) <= 4 and not _ATX.match(line))
        or (bool(_COOKIES.search(line)) and _words(line) <= 40)
        or bool(_NAVIGATION.match(line))
        or _is_menu(line)
    )


def _blocks(lines: list[str]) -> list[list[int]]:
    """Indexes of the non-blank lines, grouped into blank-line-separated blocks."""
    blocks: list[list[int]] = [[]]
    for i, line in enumerate(lines):
        if line.strip():
            blocks[-1].append(i)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _block_text(lines: list[str], block: list[int]) -> str:
    return " ".join(lines[i].strip() for i in block)


def _advert_above(lines: list[str], blocks: list[list[int]], at: int) -> set[int]:
    """The selling blocks right above a button (at most two, and a title line above them)."""
    dropped: set[int] = set()
    for back in (at - 1, at - 2):
        if back < 0 or not _SELLING.search(_block_text(lines, blocks[back])):
            break
        dropped.update(blocks[back])
    first = min(dropped, default=None)
    above = next((b for b in reversed(blocks[:at]) if first is not None and b[-1] < first), None)
    if above and len(above) == 1 and _is_title_like(lines[above[0]].strip()):
        dropped.update(above)
    return dropped


def _caption_above(lines: list[str], blocks: list[list[int]], at: int) -> set[int]:
    """A credit line's caption: the short title line standing alone right above it."""
    if at == 0 or len(blocks[at - 1]) != 1:
        return set()
    line = lines[blocks[at - 1][0]].strip()
    return set(blocks[at - 1]) if _is_title_like(line) and not _ATX.match(line) else set()


def _trailing_section(lines: list[str], blocks: list[list[int]], at: int) -> set[int]:
    """A "Further reading"-like heading and its short blocks, up to the next heading."""
    dropped = set(blocks[at])
    for block in blocks[at + 1 :]:
        first = lines[block[0]].strip()
        if _ATX.match(first) or (len(block) == 1 and _is_title_like(first) and _words(first) > 1):
            break
        if any(_words(lines[i]) > 40 for i in block):
            break
        dropped.update(block)
    return dropped


def _furniture(lines: list[str]) -> set[int]:
    """Indexes of the lines that are furniture."""
    blocks = _blocks(lines)
    dropped: set[int] = set()
    for at, block in enumerate(blocks):
        for i in block:
            line = lines[i].strip()
            if not _is_lone_furniture(line):
                continue
            dropped.add(i)
            if _is_button(line):
                dropped |= _advert_above(lines, blocks, at)
            elif _CREDIT.match(line):
                dropped |= _caption_above(lines, blocks, at)
        if len(block) == 1 and _TRAILING_SECTION.match(lines[block[0]].strip()):
            dropped |= _trailing_section(lines, blocks, at)
    return dropped


def strip_furniture(body: str) -> Cleaned:
    """`body` without its furniture lines; runs of blank lines left behind become one."""
    lines = body.split("\n")
    dropped = _furniture(lines)
    if not dropped:
        return Cleaned(body, ())
    kept = [line for i, line in enumerate(lines) if i not in dropped]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
    return Cleaned(text, tuple(lines[i].strip() for i in sorted(dropped)))
