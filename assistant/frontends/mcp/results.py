"""What kb's MCP tools return, as plain JSON-ready dicts.

Passages holding personal data (the routing's detector) are marked, not hidden: the caller
decides. What is never searched for an MCP client (local-only documents) is the server's
scope, not a filter here.
"""

from __future__ import annotations

from typing import Any

from assistant.answering.models import Answer, Citation
from assistant.backends.routing import sensitive_kinds
from assistant.documents.catalog import DocumentRow
from index.models import Hit

LOCAL_ONLY_NOTE = (
    "{n} document(s) marked local-only were not searched: kb does not send them to MCP "
    "clients (ask in kb's page or with `kb ask`, or set KB_MCP__SHARE_LOCAL_ONLY=true)."
)


def hit_result(hit: Hit) -> dict[str, Any]:
    """One search hit: where it is, how close, its text, and any personal data it holds."""
    chunk = hit.chunk
    return {
        "source": chunk.source,
        "title": chunk.title,
        "location": chunk.location,
        "collection": chunk.meta.get("collection", ""),
        "chunk_id": chunk.id,
        "score": round(hit.score, 6),
        "text": chunk.text,
        "personal_data": sensitive_kinds(chunk.text),
    }


def answer_result(answer: Answer, scope: str) -> dict[str, Any]:
    """The cited answer, its evidence quotes, whether kb refused (the documents do not cover
    the question), the backend and model that answered, and what it searched for whom."""
    return {
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [_citation_result(c) for c in answer.citations],
        "evidence": answer.evidence.as_dicts() if answer.evidence else [],
        "backend": answer.backend,
        "model": answer.model,
        "route": answer.route,
        "note": answer.note,
        "scope": scope,
    }


def _citation_result(citation: Citation) -> dict[str, Any]:
    return {**citation.as_dict(), "personal_data": sensitive_kinds(citation.hit.chunk.text)}


def document_result(row: DocumentRow) -> dict[str, Any]:
    """One document of `list_documents`, with the URI its cleaned text is read at."""
    return {**row.as_dict(), "uri": f"kb://documents/{row.path}"}


def with_local_only_note(result: dict[str, Any], not_searched: int) -> dict[str, Any]:
    """`result`, saying how many local-only documents were left out, if any."""
    if not_searched:
        result["local_only"] = LOCAL_ONLY_NOTE.format(n=not_searched)
    return result
