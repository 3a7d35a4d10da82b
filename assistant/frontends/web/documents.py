"""The page's Documents tab: the same table as `kb docs list`, with a search box, re-index,
remove (after a confirmation), and the upload box with the collection new files go into.

Every change goes through the `DocumentLibrary`, so through the index's writer lock and a
generation switch like `kb ingest`, and the assistant searches the result at once.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.events import Dependency

from assistant.access import Caller
from assistant.documents.catalog import DocumentRow
from assistant.documents.library import accepted_suffixes
from assistant.errors import KbError
from assistant.frontends.web.events import PAGE_USER, PageParts, add_documents
from index.builder import IngestReport

HEADERS = ["path", "title", "collection", "chunks", "size", "added", "local only"]


def table_rows(rows: list[DocumentRow]) -> list[list[Any]]:
    """The rows as the table shows them (sizes in kB, times to the minute)."""
    return [
        [
            row.path,
            row.title or "",
            row.collection,
            row.chunks,
            "" if row.size is None else f"{row.size / 1024:.1f} kB",
            (row.added or "")[:16].replace("T", " "),
            "yes" if row.local_only else "",
        ]
        for row in rows
    ]


@dataclass
class DocumentsView:
    """What one refresh of the tab shows: the table and the paths one may pick."""

    table: list[list[Any]]
    paths: list[str]

    @classmethod
    def of(cls, parts: PageParts, search: str, caller: Caller = PAGE_USER) -> DocumentsView:
        """The documents `caller` may see whose path, title or collection holds `search`."""
        rows = [r for r in parts.session.library.rows(search) if caller.may_see(r.collection)]
        return cls(table_rows(rows), [row.path for row in rows])


def confirm_removal(selected: list[str] | None) -> tuple[str, Any]:
    """The question asked before anything is removed (shown with Yes and Cancel), or why not."""
    if not selected:
        return "Pick one or more documents first.", gr.update(visible=False)
    names = ", ".join(f"**{html.escape(p)}**" for p in selected)
    return (
        f"Remove {len(selected)} document(s) from the index: {names}? The page's copy of an "
        "upload is deleted; your own files stay where they are.",
        gr.update(visible=True),
    )


def change_documents(
    action: Callable[[list[str]], IngestReport], selected: list[str] | None
) -> str:
    """Run remove or re-index on the picked documents; the report, or the error, as Markdown."""
    if not selected:
        return "Pick one or more documents first."
    try:
        report = action(list(selected))
    except KbError as exc:
        return f"❌ {html.escape(str(exc))}"
    lines = [f"- removed **{html.escape(s)}**" for s in report.removed]
    lines += [f"- read again **{html.escape(s)}**" for s in report.updated + report.added]
    lines += [f"- ❌ **{html.escape(s)}**: {html.escape(why)}" for s, why in report.failed]
    return "\n".join([*lines, f"\n{report.chunks} chunks in the index; {report.seconds:.1f} s"])


def seen_only(
    parts: PageParts, action: Callable[[list[str]], IngestReport], request: gr.Request
) -> Callable[[list[str]], IngestReport]:
    """`action`, refused (an error naming the path) for a document the login may not see."""
    caller = parts.caller(request)

    def checked(paths: list[str]) -> IngestReport:
        for path in paths:
            parts.session.library.check_visible(path, caller)
        return action(paths)

    return checked


def documents_tab(
    parts: PageParts, after_change: Callable[[Dependency], None], page: gr.Blocks
) -> None:
    """Lay the tab out and wire it; `after_change` chains what the rest of the page refreshes
    (status line, collection picker) onto each event that changes the documents. The list is
    filled when the page loads: each login sees only its collections."""
    view = DocumentsView([], [])
    search = gr.Textbox(
        placeholder="Search by path, title or collection", show_label=False, elem_id="kb-doc-search"
    )
    table = gr.Dataframe(
        value=view.table, headers=HEADERS, interactive=False, elem_id="kb-doc-table", wrap=True
    )
    with gr.Row():
        selected = gr.Dropdown(
            view.paths, multiselect=True, label="Documents to change", elem_id="kb-doc-selected"
        )
        reindex = gr.Button("Re-index", elem_id="kb-doc-reindex", scale=0)
        remove = gr.Button("Remove…", variant="stop", elem_id="kb-doc-remove", scale=0)
    question = gr.Markdown(elem_id="kb-doc-confirm-text")
    with gr.Row(visible=False, elem_id="kb-doc-confirm") as confirm:
        yes = gr.Button("Yes, remove", variant="stop", elem_id="kb-doc-remove-yes")
        cancel = gr.Button("Cancel", elem_id="kb-doc-remove-cancel")
    outcome = gr.Markdown(elem_id="kb-doc-report")
    with gr.Accordion("Add documents", open=True, elem_id="kb-upload-panel"):
        collection = gr.Textbox(
            label="Collection (empty: default)", elem_id="kb-upload-collection", max_lines=1
        )
        files = gr.File(
            file_count="multiple",
            file_types=accepted_suffixes(),
            label=f"Drop files here ({', '.join(accepted_suffixes())}; up to "
            f"{parts.session.library.limits.max_files} files of {parts.session.library.limits.max_file_mb} MB at a time)",
            elem_id="kb-upload",
        )
        report = gr.Markdown(elem_id="kb-upload-report")

    def refresh(text: str, request: gr.Request) -> tuple[list[list[Any]], Any]:
        fresh = DocumentsView.of(parts, text, parts.caller(request))
        return fresh.table, gr.update(choices=fresh.paths, value=[])

    listing = [table, selected]
    private: dict[str, Any] = {"api_visibility": "private"}
    page.load(refresh, [search], listing, **private)
    search.change(refresh, [search], listing, **private)
    remove.click(confirm_removal, [selected], [question, confirm], **private)
    cancel.click(lambda: ("", gr.update(visible=False)), None, [question, confirm], **private)

    def removed(picked: list[str] | None, request: gr.Request) -> tuple[str, Any, str]:
        remove = seen_only(parts, parts.session.library.remove, request)
        return "", gr.update(visible=False), change_documents(remove, picked)

    def read_again(picked: list[str] | None, request: gr.Request) -> str:
        return change_documents(seen_only(parts, parts.session.library.reindex, request), picked)

    def upload(
        paths: list[str] | None, name: str, request: gr.Request, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, None]:
        def on_file(done: int, total: int, file_name: str) -> None:
            progress((done, total), desc=f"Reading and embedding {file_name}", unit="file")

        return add_documents(parts, paths, on_file, name, parts.caller(request))

    for event in (
        yes.click(removed, [selected], [question, confirm, outcome], **private),
        reindex.click(read_again, [selected], [outcome], **private),
        files.upload(upload, [files, collection], [report, files], **private),
    ):
        after_change(event.then(refresh, [search], listing, **private))


_PROGRESS = gr.Progress()  # Gradio injects the live tracker through this default
