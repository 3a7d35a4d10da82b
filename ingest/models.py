"""Domain values of ingest: a document (one cleaned source file) and a chunk (an indexed span)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A heading found in a document's cleaned text, starting at character `start`."""

    start: int
    level: int
    text: str


@dataclass(frozen=True)
class Page:
    """A PDF page whose text begins at character `start` of the cleaned text."""

    start: int
    number: int


@dataclass(frozen=True)
class Document:
    """One source file after reading and repair."""

    source: str
    title: str | None
    text: str
    headings: tuple[Heading, ...] = ()
    pages: tuple[Page, ...] = ()
    dropped: tuple[str, ...] = ()  # page furniture left out of `text` (ingest.furniture)


@dataclass(frozen=True, slots=True)  # slots: a million of them load into each kb process
class Chunk:
    """A contiguous span `text == document.text[start:end]` of one document."""

    id: int
    source: str
    title: str | None
    heading_path: tuple[str, ...]
    page: int | None
    start: int
    end: int
    text: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def location(self) -> str | None:
        """Human-readable place in the document: section path and/or page."""
        parts = []
        if self.heading_path:
            parts.append(" > ".join(self.heading_path))
        if self.page is not None:
            parts.append(f"page {self.page}")
        return ", ".join(parts) or None
