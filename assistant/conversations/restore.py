"""A saved answer (`Answer.as_dict()` in the database) back as an `Answer`, so a reopened
conversation shows its sources panel and cited links as they were.

What JSON does not keep is filled plainly: a chunk's section and page come back as the one
`location` string they were shown as, ids as -1, evidence timings as 0.
"""

from __future__ import annotations

from typing import Any

from assistant.answering.models import Answer, Citation, Evidence
from index.models import Hit
from ingest.models import Chunk


def _chunk(data: dict[str, Any]) -> Chunk:
    location = data.get("location")
    return Chunk(
        id=-1,
        source=str(data.get("source", "")),
        title=data.get("title"),
        heading_path=(location,) if location else (),  # shown again as the same location
        page=None,
        start=int(data.get("start", 0)),
        end=int(data.get("end", 0)),
        text=str(data.get("text", "")),
    )


def _citation(data: dict[str, Any], passages: tuple[Hit, ...]) -> Citation:
    n = int(data["n"])
    # The citation's JSON has no similarity; passage n, the one it cites, does.
    dense = passages[n - 1].dense if 0 < n <= len(passages) else None
    hit = Hit(_chunk(data), float(data.get("score", 0.0)), dense)
    return Citation(n, hit, str(data.get("supports", "")), str(data.get("evidence", "")))


def _passages(record: dict[str, Any]) -> tuple[Hit, ...]:
    spans = list(record.get("passage_spans", []))
    hits = []
    for i, data in enumerate(record.get("passages", [])):
        span = spans[i] if i < len(spans) else {}
        chunk = _chunk({**data, **span})
        hits.append(Hit(chunk, float(data.get("score", 0.0)), data.get("similarity")))
    return tuple(hits)


def _evidence(record: dict[str, Any]) -> Evidence | None:
    quotes = [
        Citation(int(q["n"]), Hit(_chunk(q), 0.0), evidence=str(q.get("quote", "")))
        for q in record.get("evidence", [])
    ]
    return Evidence(tuple(quotes), 0.0) if quotes else None


def restore_answer(record: dict[str, Any]) -> Answer:
    """The `Answer` a saved record was made from, as far as the page and export need it."""
    passages = _passages(record)
    return Answer(
        question=str(record.get("question", "")),
        text=str(record.get("answer", "")),
        citations=tuple(_citation(c, passages) for c in record.get("citations", [])),
        passages=passages,
        backend=str(record.get("backend", "")),
        model=str(record.get("model", "")),
        timings=dict(record.get("timings") or {}),
        query=str(record.get("query", "")),
        refused=bool(record.get("refused", False)),
        note=record.get("note"),
        route=record.get("route"),
        usage=record.get("usage"),
        fell_back=bool(record.get("fell_back", False)),
        evidence=_evidence(record),
        evidence_in_text=bool(record.get("evidence_in_text", False)),
    )
