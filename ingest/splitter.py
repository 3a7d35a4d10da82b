"""Structure-aware splitting: sections by heading, then paragraphs, then sentences.

Every chunk is a contiguous span of the cleaned text, so its offsets point at the exact
passage. Chunks are packed up to `max_tokens` and end at a paragraph or section boundary when
they can; the next chunk in the same section repeats up to `overlap_tokens` of trailing
sentences so that a passage cut at a boundary is still whole in one of the two chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.models import Chunk, Document, Heading, Page
from ingest.sentences import SENTENCE_END

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def count_tokens(text: str) -> int:
    """Approximate word-piece count: words and punctuation marks."""
    return len(_TOKEN.findall(text))


@lru_cache(maxsize=4)
def word_piece_counter(tokenizer_file: Path) -> Callable[[str], int]:
    """Count the word pieces an embedder reads (its `tokenizer.json`), special tokens excluded:
    a chunk that fits is embedded whole, not cut at the model's limit."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()  # the file pads to a fixed length: every text would count the same

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


@dataclass(frozen=True)
class ChunkingParams:
    """How big chunks are and how much the next one repeats, in counted tokens."""

    max_tokens: int = 300
    min_tokens: int = 180
    overlap_tokens: int = 60
    tokenizer: Path | None = None  # count the embedder's word pieces; None: words and marks

    def counter(self) -> Callable[[str], int]:
        """Counts tokens: the embedder's word pieces with a tokenizer, else words and marks."""
        return word_piece_counter(self.tokenizer) if self.tokenizer else count_tokens

    def as_dict(self) -> dict[str, int | str]:
        """What the index manifest records (an index chunked otherwise must be rebuilt)."""
        recorded: dict[str, int | str] = {
            "max_tokens": self.max_tokens,
            "min_tokens": self.min_tokens,
            "overlap_tokens": self.overlap_tokens,
        }
        if self.tokenizer:  # absent for words and marks, as in indexes made before it existed
            recorded["tokens"] = "embedder word pieces"
        return recorded


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    section: int
    paragraph_start: bool


def _sections(doc: Document) -> list[tuple[int, int, tuple[str, ...]]]:
    bounds: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    stack: list[Heading] = []
    for heading in sorted(doc.headings, key=lambda h: h.start):
        stack = [h for h in stack if h.level < heading.level] + [heading]
        bounds.append((heading.start, tuple(h.text for h in stack)))
    ends = [start for start, _ in bounds[1:]] + [len(doc.text)]
    return [(s, e, path) for (s, path), e in zip(bounds, ends, strict=True) if e > s]


def _spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in pattern.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [_strip(text, a, b) for a, b in spans if text[a:b].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    segment = text[start:end]
    lead = len(segment) - len(segment.lstrip())
    return start + lead, start + len(segment.rstrip())


def _word_windows(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    return [
        (start + words[i][0], start + words[min(i + size, len(words)) - 1][1])
        for i in range(0, len(words), size)
    ]


def _units(doc: Document, params: ChunkingParams, counter: Callable[[str], int]) -> list[_Unit]:
    units: list[_Unit] = []
    for index, (s_start, s_end, _) in enumerate(_sections(doc)):
        for p_start, p_end in _spans(doc.text, s_start, s_end, _PARAGRAPH_BREAK):
            first = True
            for l_start, l_end in _spans(doc.text, p_start, p_end, re.compile(r"\n")):
                for a, b in _spans(doc.text, l_start, l_end, SENTENCE_END):
                    pieces = [(a, b)]
                    if counter(doc.text[a:b]) > params.max_tokens:
                        pieces = _word_windows(doc.text, a, b, params.max_tokens * 2 // 3)
                    for x, y in pieces:
                        units.append(_Unit(x, y, counter(doc.text[x:y]), index, first))
                        first = False
    return units


def _cut_point(current: list[_Unit], min_tokens: int) -> int:
    """Index to end the chunk at: the last paragraph start leaving >= min_tokens, else all."""
    total = 0
    best = len(current)
    for i, unit in enumerate(current):
        if i and unit.paragraph_start and total >= min_tokens:
            best = i
        total += unit.tokens
    return best


def _overlap(units: list[_Unit], budget: int) -> list[_Unit]:
    tail: list[_Unit] = []
    for unit in reversed(units):
        if sum(u.tokens for u in tail) + unit.tokens > budget:
            break
        tail.insert(0, unit)
    return tail


def _pack(units: list[_Unit], params: ChunkingParams) -> list[tuple[int, int, int]]:
    """Group units into (start, end, section) spans."""
    spans: list[tuple[int, int, int]] = []
    current: list[_Unit] = []
    for unit in units:
        size = sum(u.tokens for u in current)
        new_section = bool(current) and unit.section != current[-1].section
        if current and (
            size + unit.tokens > params.max_tokens or (new_section and size >= params.min_tokens)
        ):
            cut = _cut_point(current, params.min_tokens) if not new_section else len(current)
            done, rest = current[:cut], current[cut:]
            spans.append((done[0].start, done[-1].end, done[0].section))
            carry = [] if new_section and not rest else _overlap(done, params.overlap_tokens)
            current = [u for u in carry if u.section == (rest or [unit])[0].section] + rest
        current.append(unit)
    if current:
        spans.append((current[0].start, current[-1].end, current[0].section))
    return spans


def chunk_id(source: str, start: int, end: int, text: str) -> int:
    """Stable 60-bit id (FAISS ids are int64) from the chunk's place and content."""
    digest = hashlib.sha256(f"{source}\0{start}\0{end}\0{text}".encode()).hexdigest()
    return int(digest[:15], 16)


def _page_at(pages: tuple[Page, ...], offset: int) -> int | None:
    number = None
    for page in pages:
        if page.start <= offset:
            number = page.number
    return number


def split_document(
    doc: Document,
    params: ChunkingParams | None = None,
) -> list[Chunk]:
    """Split one document into chunks that carry their source, title, section path and page."""
    params = params or ChunkingParams()
    counter = params.counter()
    sections = _sections(doc)
    chunks = []
    for start, end, section in _pack(_units(doc, params, counter), params):
        text = doc.text[start:end]
        chunks.append(
            Chunk(
                chunk_id(doc.source, start, end, text),
                doc.source,
                doc.title,
                sections[section][2],
                _page_at(doc.pages, start),
                start,
                end,
                text,
            )
        )
    return chunks
