"""Where sentences end: the one place kb's sentence rules live.

Two rules, because they serve different ends:

- `SENTENCE_END`, for chunking documents: after . ! or ? (and a closing quote or bracket), only
  where the next sentence starts like one (a capital, a digit, an opening quote or bracket, `*`),
  so that "e.g. the" never becomes a chunk boundary.
- `split_sentences`, for replies and passages (citations, context, refusals, the fake model):
  after . ! or ? before anything, and at every line break, so that each list item or table row
  of a reply is a sentence of its own to cite.

They disagree on a few of the corpus's paragraphs (a closing bracket after "!", a table row
after "."), so neither replaces the other without changing chunks or citations.
"""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'“(\[*A-Z0-9])")
_REPLY_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")


def split_sentences(text: str) -> list[str]:
    """The sentences of a reply or passage, stripped, without empty ones."""
    return [s.strip() for s in _REPLY_SENTENCE_BREAK.split(text) if s.strip()]
