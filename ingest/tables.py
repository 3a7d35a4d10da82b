"""Tables as text a retriever and a reader can use: one line per row, each value with its
column's name ("model: Llama 3; licence: Llama 3 Community"), so a chunk never separates a
value from what it means. Shared by spreadsheets, CSV, slides and HTML tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Rows are joined as paragraphs: the evidence finder and the splitter treat a paragraph's lines
# as running text, so rows on lines of one paragraph would be quoted as one long "sentence".
ROWS = "\n\n"


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def row_line(header: Sequence[str], row: Sequence[str]) -> str:
    """One row: "column: value" pairs joined by "; ", empty values left out; a value whose
    column has no name stands alone."""
    pairs = [
        f"{name}: {value}" if name else value
        for name, value in zip(header, row, strict=False)
        if value
    ]
    return "; ".join(pairs + [value for value in row[len(header) :] if value])


def table_lines(rows: Iterable[Sequence[object]], has_header: bool = True) -> list[str]:
    """The table's rows as lines; the first row names the columns when `has_header`, else the
    cells are joined with " | ". Empty rows and empty trailing columns are dropped."""
    cleaned = [[_clean(cell) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    if not has_header or len(cleaned) == 1:
        return [" | ".join(cell for cell in row if cell) for row in cleaned]
    header, body = cleaned[0], cleaned[1:]
    return [line for line in (row_line(header, row) for row in body) if line]
