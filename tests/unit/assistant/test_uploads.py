"""Uploads through the page's library: whatever name a browser sends, the copy lands in the
upload folder and nowhere else; too many files, too large a file or an unsupported type are
refused with a reason, and nothing of them is written or indexed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.documents.library import DocumentLibrary, UploadLimits, UploadRefusedError
from assistant.frontends.web import events
from assistant.settings import Settings
from assistant.wiring import build_library
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
from tests.unit.assistant.conftest import make_assistant, make_page_parts

GOOD_TEXT = "# Zorblax\n\nThe Zorblax protocol was ratified by the Quillon council.\n"


@pytest.fixture
def library(retriever: HybridRetriever, tmp_path: Path) -> DocumentLibrary:
    limits = UploadLimits(max_file_mb=1, max_files=3)
    return DocumentLibrary(
        make_assistant(retriever), IndexConfig(Path("index")), tmp_path / "uploads", limits
    )


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    """Where the browser's files wait (Gradio's temporary folder)."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder


def _file(folder: Path, name: str, text: str = GOOD_TEXT) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _snapshot(tmp_path: Path) -> dict[str, tuple[int, int]]:
    """What lies around the test's folder: the files of its grandparent (shared by concurrent
    pytest runs, whose folders come and go), every entry of its parent (this run's test
    folders), and all of tmp_path apart from the upload folder and the index."""
    seen: dict[str, tuple[int, int]] = {}
    grandparent = [
        e for e in tmp_path.parent.parent.iterdir() if e.is_file() and not e.is_symlink()
    ]
    parent = [e for e in tmp_path.parent.iterdir() if e != tmp_path]
    for entry in grandparent + parent:
        stat = entry.lstat()
        seen[str(entry)] = (stat.st_size, stat.st_mtime_ns)
    for root, dirs, files in os.walk(tmp_path):
        dirs[:] = [
            d for d in dirs if Path(root, d) not in (tmp_path / "uploads", tmp_path / "index")
        ]
        for name in dirs + files:
            stat = Path(root, name).lstat()
            seen[os.path.join(root, name)] = (stat.st_size, stat.st_mtime_ns)
    return seen


def _uploaded(tmp_path: Path) -> list[str]:
    folder = tmp_path / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _indexed() -> set[str]:
    return set(load_index(Path("index")).files)


@pytest.mark.parametrize(
    "name",
    [
        "../../escape.md",
        "../escape.md",
        "sub/dir/escape.md",
        "..\\..\\escape.md",
        "C:\\Users\\me\\escape.md",
        "ABSOLUTE",  # an absolute path next to the test's folder, filled in below
        "./escape.md",
    ],
)
def test_a_name_with_folders_lands_in_the_upload_folder_only(
    library: DocumentLibrary, incoming: Path, tmp_path: Path, name: str
) -> None:
    if name == "ABSOLUTE":
        name = str(tmp_path.parent / "escape.md")
    source = _file(incoming, "upload-1.md")
    before = _snapshot(tmp_path)
    report = library.add_files([(source, name)])
    assert report.added == ["uploads/escape.md"] and not report.failed
    assert _uploaded(tmp_path) == ["escape.md"]
    assert _snapshot(tmp_path) == before  # nothing written anywhere else
    assert not (tmp_path.parent / "escape.md").exists()
    assert not (tmp_path.parent.parent / "escape.md").exists()
    assert library.stats().documents == 4


@pytest.mark.parametrize("name", ["", ".", "..", "...", " ", "/", "\\", ".md", "../.."])
def test_an_empty_or_dot_name_is_refused_and_nothing_written(
    library: DocumentLibrary, incoming: Path, tmp_path: Path, name: str
) -> None:
    source = _file(incoming, "upload-1.md")
    before, indexed = _snapshot(tmp_path), _indexed()
    report = library.add_files([(source, name)])
    assert not report.added and len(report.failed) == 1
    assert "unsupported type" in report.failed[0][1]
    assert _uploaded(tmp_path) == [] and _snapshot(tmp_path) == before
    assert _indexed() == indexed


def test_a_link_planted_in_the_upload_folder_is_replaced_not_written_through(
    library: DocumentLibrary, incoming: Path, tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.md"
    outside.write_text("# Outside\n\nUntouched.\n")
    try:
        (tmp_path / "uploads").mkdir()
        (tmp_path / "uploads" / "notes.md").symlink_to(outside)
        report = library.add_files([(_file(incoming, "notes.md"), "notes.md")])
        assert report.added == ["uploads/notes.md"]
        assert outside.read_text() == "# Outside\n\nUntouched.\n"
        assert not (tmp_path / "uploads" / "notes.md").is_symlink()
    finally:
        outside.unlink()


def test_a_very_long_name_is_shortened_and_keeps_its_suffix(
    library: DocumentLibrary, incoming: Path, tmp_path: Path
) -> None:
    long_names = ["é" * 300 + ".md", "文" * 300 + ".md", "a" * 400 + ".md"]
    report = library.add_files([(_file(incoming, "long.md"), name) for name in long_names])
    assert len(report.added) == 3 and not report.failed
    names = _uploaded(tmp_path)
    assert len(names) == 3 and all(n.endswith(".md") and len(n.encode()) <= 200 for n in names)


def test_too_many_files_refuse_the_whole_batch(
    library: DocumentLibrary, incoming: Path, tmp_path: Path
) -> None:
    files = [(_file(incoming, f"n{i}.md"), f"n{i}.md") for i in range(4)]
    before, indexed = _snapshot(tmp_path), _indexed()
    with pytest.raises(UploadRefusedError, match="4 files in one upload, over the limit of 3"):
        library.add_files(files)
    assert _uploaded(tmp_path) == [] and _snapshot(tmp_path) == before
    assert _indexed() == indexed and library.stats().documents == 3
    assert len(library.add_files(files[:3]).added) == 3  # at the limit is fine


def test_a_large_file_and_an_unsupported_type_are_refused_the_good_one_goes_in(
    library: DocumentLibrary, incoming: Path, tmp_path: Path
) -> None:
    big = _file(incoming, "big.txt", "word " * 300_000)  # 1.5 MB
    tool = incoming / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    good = _file(incoming, "zorblax.md")
    report = library.add_files([(big, "big.txt"), (tool, "tool.exe"), (good, "zorblax.md")])
    assert report.added == ["uploads/zorblax.md"]
    reasons = dict(report.failed)
    assert reasons["big.txt"] == "larger than 1 MB"
    assert reasons["tool.exe"].startswith("unsupported type; use .csv, .docx, .eml, .epub, .htm")
    assert _uploaded(tmp_path) == ["zorblax.md"]
    assert _indexed() == {"docs/costs.md", "docs/privacy.md", "docs/scale.md", "uploads/zorblax.md"}
    hits = library._assistant.retrieve("Zorblax Quillon council")  # searchable at once
    assert hits[0].chunk.source == "uploads/zorblax.md"


def test_the_page_shows_each_refusal_and_a_refused_batch(
    retriever: HybridRetriever, incoming: Path, tmp_path: Path
) -> None:
    parts = make_page_parts(retriever, tmp_path / "uploads")  # 1 MB, 5 files
    tool = incoming / "tool.exe"
    tool.write_bytes(b"MZ")
    page, _ = events.add_documents(parts, [str(tool), str(_file(incoming, "zorblax.md"))])
    assert "❌ **tool.exe**: unsupported type" in page and "✅ **zorblax.md**: added" in page
    assert f"{parts.session.library.stats().chunks} chunks in the index" in page
    many = [str(_file(incoming, f"n{i}.md")) for i in range(6)]
    page, _ = events.add_documents(parts, many)
    assert page.startswith("❌ upload failed: 6 files in one upload, over the limit of 5")
    assert "nothing was added" in page and _uploaded(tmp_path) == ["zorblax.md"]
    assert events.add_documents(parts, []) == ("", None)


def test_the_size_limit_comes_from_the_ingest_settings(retriever: HybridRetriever) -> None:
    assert Settings().ingest.max_file_mb == 20
    library = build_library(Settings(ingest={"max_file_mb": 5}), make_assistant(retriever))
    assert library.limits == UploadLimits(max_file_mb=5, max_files=20)


OTHER_TEXT = "# Zorblax\n\nA different file that happens to have the same name.\n"


def test_a_taken_name_keeps_both_files_and_the_same_content_is_one_file(
    library: DocumentLibrary, incoming: Path, tmp_path: Path
) -> None:
    """Issue 16, item 6: an upload never silently replaces another user's file."""
    first = library.add_files([(_file(incoming, "notes.md"), "notes.md")])
    second = library.add_files([(_file(incoming / "..", "x.md", OTHER_TEXT), "notes.md")])
    again = library.add_files([(_file(incoming, "notes.md"), "notes.md")])
    uploads = tmp_path / "uploads"
    assert first.added == ["uploads/notes.md"] and second.added == ["uploads/notes (2).md"]
    assert (uploads / "notes.md").read_text() == GOOD_TEXT
    assert (uploads / "notes (2).md").read_text() == OTHER_TEXT
    assert not again.changed and sorted(p.name for p in uploads.iterdir()) == [
        "notes (2).md",
        "notes.md",
    ]


def test_two_uploads_of_one_name_at_once_keep_both(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    """Copies used to happen outside the library's lock: one upload clobbered the other's
    file while it was being ingested."""
    import threading

    texts = [GOOD_TEXT, OTHER_TEXT, GOOD_TEXT.replace("Quillon", "Brastor")]
    sources = []
    for n, text in enumerate(texts):
        folder = tmp_path / f"browser{n}"
        folder.mkdir()
        sources.append(_file(folder, "same.md", text))
    threads = [
        threading.Thread(target=library.add_files, args=([(s, "same.md")],)) for s in sources
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    kept = sorted(p.read_text() for p in (tmp_path / "uploads").iterdir())
    assert kept == sorted(texts)
    assert len(load_index(Path("index")).files) == 3 + len(texts)  # the 3 fixture documents


def test_a_scanned_upload_follows_the_ocr_setting(
    retriever: HybridRetriever, incoming: Path, tmp_path: Path
) -> None:
    """KB_INGEST__OCR reaches the page's uploads: off, a scan is refused with the setting named."""
    from harness.scans import LINES, SHORT_PAGE, draw_page, save_scan

    scan = save_scan(incoming / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    settings = Settings(
        index={"dir": Path("index")},
        web={"upload_dir": tmp_path / "uploads"},
        ingest={"ocr": False},
    )
    report = build_library(settings, make_assistant(retriever)).add_files([(scan, "scan.pdf")])
    assert report.added == []
    assert "KB_INGEST__OCR=false" in dict(report.failed)["uploads/scan.pdf"]
