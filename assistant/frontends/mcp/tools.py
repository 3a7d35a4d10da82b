"""The work of kb's MCP tools, apart from the SDK: arguments checked, kb run, results shaped.

Every call has a caller (`access.Caller`: its token's collections over HTTP, this machine's
user over stdio) and never searches, lists or reads outside them. Unless `share_local_only`,
local-only documents are outside every MCP scope too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from assistant.access import AccessDeniedError, Caller, narrow
from assistant.answering.models import AnswerStream, Evidence
from assistant.documents.catalog import DocumentRow, UnknownSourceError, check_scope
from assistant.frontends.mcp import results
from assistant.session import Scope, Session
from index.storage import FileRecord

MAX_TOP_K = 20


class Gate(Protocol):
    """How many questions may be answered at once (the page's `BusyGate` is one)."""

    def take(self) -> bool: ...

    def release(self) -> None: ...


class SemaphoreGate:
    """A `Gate` of `limit` places, for a server without the page's gate."""

    def __init__(self, limit: int):
        self._places = threading.BoundedSemaphore(limit)

    def take(self) -> bool:
        return self._places.acquire(blocking=False)

    def release(self) -> None:
        self._places.release()


class KbTools:
    """What each tool does for one caller."""

    def __init__(self, session: Session, backend: str, share_local_only: bool, gate: Gate):
        self.session = session
        self.backend = backend
        self.share = share_local_only
        self.gate = gate

    def scope(self, caller: Caller, wanted: Sequence[str] | None, backend: str | None) -> Scope:
        """The scope of one call within the caller's grant, or a ToolError saying why not."""
        try:
            collections = narrow(caller, wanted or ())
        except AccessDeniedError as exc:
            raise ToolError(str(exc)) from None
        if caller.collections is None:  # a limited caller learns nothing of other names
            try:
                check_scope(self._files(), collections)
            except UnknownSourceError as exc:
                raise ToolError(str(exc)) from None
        scope = Scope(backend or self.backend, collections, self.share)
        usable = [c.name for c in self.session.pool.choices if c.available]
        if scope.backend not in usable and scope.backend != "hosted":
            raise ToolError(
                f"unknown or unavailable backend {scope.backend!r}: use one of {usable}"
            )
        return scope

    def _files(self) -> Mapping[str, FileRecord]:
        """The documents of the index generation the assistant searches now."""
        return self.session.assistant.retriever.state.files

    def _rows(self, caller: Caller) -> list[DocumentRow]:
        """The documents the caller may see (local-only ones included)."""
        self.session.library.follow_index()
        return [r for r in self.session.library.rows() if caller.may_see(r.collection)]

    def _not_searched(self, scope: Scope) -> int:
        """How many local-only documents in the scope's collections (already within the
        caller's grant) were left out."""
        if self.share:
            return 0
        wanted = scope.collections
        records = self._files().values()
        return sum(r.local_only and (not wanted or r.collection in wanted) for r in records)

    def search(
        self, caller: Caller, query: str, collections: Sequence[str] | None, top_k: int
    ) -> dict[str, Any]:
        if not query.strip():
            raise ToolError("query is empty: give words to search for")
        if not 1 <= top_k <= MAX_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        scope = self.scope(caller, collections, None)
        hits = self.session.answering(scope).retrieve(query, top_k)
        found = {"hits": [results.hit_result(hit) for hit in hits]}
        return results.with_local_only_note(found, self._not_searched(scope))

    def answer(
        self, caller: Caller, scope: Scope, question: str, evidence_found: Callable[[], Any]
    ) -> dict[str, Any]:
        """Answer in this (worker) thread; `evidence_found()` when the passages are chosen."""
        stream = AnswerStream(self.session.answering(scope).stream(question))
        for event in stream:
            if isinstance(event, Evidence):
                evidence_found()
        answer = stream.answer()
        self.session.audit(answer, caller, scope)
        shaped = results.answer_result(answer, caller.scope_line(scope.collections))
        return results.with_local_only_note(shaped, self._not_searched(scope))

    def documents(self, caller: Caller, collection: str | None) -> dict[str, Any]:
        wanted = self.scope(caller, [collection] if collection else None, None).collections
        rows = [r for r in self._rows(caller) if not wanted or r.collection in wanted]
        shown = [r for r in rows if self.share or not r.local_only]
        listed = {"documents": [results.document_result(row) for row in shown]}
        return results.with_local_only_note(listed, len(rows) - len(shown))

    def collection_list(self, caller: Caller) -> dict[str, Any]:
        rows = [r for r in self._rows(caller) if self.share or not r.local_only]
        sizes = Counter(r.collection for r in rows)
        return {"collections": [{"name": n, "documents": k} for n, k in sorted(sizes.items())]}

    def document_text(self, caller: Caller, path: str) -> str:
        library = self.session.library
        library.follow_index()
        try:
            library.check_visible(path, caller)
            if self._files()[path].local_only and not self.share:
                raise ResourceError(
                    f"{path} is marked local-only: kb does not send it to MCP clients"
                )
            return library.document_text(path)[1]
        except UnknownSourceError as exc:
            raise ResourceError(f"{exc}; list_documents gives the paths") from None
