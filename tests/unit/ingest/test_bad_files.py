"""One folder of bad files next to good ones: each bad file is reported with a reason a user
understands, or read correctly; the ingest finishes and the good text is searchable.

The folder is ingested once for the module (it holds a 50 MB file) with the hashing fake.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from index.builder import IngestReport, ingest_paths
from index.config import IndexConfig
from index.retriever import HybridRetriever
from index.storage import load_index
from tests.support.fakes import HashingEmbedder

GOOD = {
    "alpha.md": "# Alpha\n\nThe zorblax turbine spins above the quillon reservoir.\n",
    "bravo.md": "# Bravo\n\nVelmorian archives keep their ledgers in cold storage.\n",
}
UTF16_TEXT = "Grüße aus Köln: die Straßenbahn fährt pünktlich zum Brückenfest.\n"
LATIN1_TEXT = "Le garçon mangea une crème brûlée très sucrée à Noël.\n"
PDF_TEXT = "The frobnicator manual explains how the gasket is fitted. "
RESTRICTED_PDF_TEXT = "The sprocket catalogue lists every flange by its torque. "

# Each bad input and the words its reason must contain (case-insensitive regex).
REFUSED = {
    "empty.txt": r"the file is empty",
    "binary.txt": r"binary file, not text",
    "truncated.pdf": r"could not read \.pdf file: .*damaged, cut short",
    "encrypted.pdf": r"encrypted.*password",
    "huge.txt": r"too large: 50\.0 MB.*20 MB limit",
    "corrupt.docx": r"could not read \.docx file: .*damaged, cut short",
    "self.md": r"symbolic link that leads nowhere",
    "sub/loop": r"symbolic link to a folder.*not followed",
    "locked.md": r"cannot open: permission denied",
}


def _pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for _ in range(4):
        pdf.multi_cell(w=180, h=8, text=text * 4, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt("s3cret-user-password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted_without_password(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt("", owner_password="owner")  # restricts printing and copying only
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _write_messy_folder(folder: Path) -> None:
    for name, text in GOOD.items():
        (folder / name).write_text(text)
    (folder / "empty.txt").write_bytes(b"")
    noise = random.Random(7).randbytes(8192)
    (folder / "binary.txt").write_bytes(noise[:100] + b"\0\0\0" + noise[100:])
    pdf = _pdf_bytes(PDF_TEXT)
    (folder / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / "encrypted.pdf").write_bytes(_encrypted(pdf))
    restricted = _encrypted_without_password(_pdf_bytes(RESTRICTED_PDF_TEXT))
    (folder / "restricted.pdf").write_bytes(restricted)
    (folder / "huge.txt").write_bytes(b"lorem ipsum dolor sit amet " * (50 * 1024 * 1024 // 27 + 1))
    (folder / "utf16.txt").write_text(UTF16_TEXT, encoding="utf-16")  # writes a BOM
    (folder / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    words = ("kestrel", "meadow", "lantern", "pebble", "harbour")
    line = " ".join(random.Random(3).choice(words) for _ in range(5 * 1024 * 1024 // 7))
    (folder / "one_line.txt").write_text("Wyvernstone " + line)  # no newline, no sentence end
    (folder / "corrupt.docx").write_bytes(b"PK\x03\x04" + random.Random(5).randbytes(4000))
    (folder / "self.md").symlink_to("self.md")
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.md").write_text("# Inner\n\nThe inner note mentions glimmerwick.\n")
    (folder / "sub" / "loop").symlink_to(folder / "sub", target_is_directory=True)
    (folder / "locked.md").write_text("# Locked\n\nNobody may read this.\n")
    (folder / "locked.md").chmod(0)


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False


def _deny_reading(patch: pytest.MonkeyPatch, locked: Path) -> None:
    """Running as root (or with CAP_DAC_OVERRIDE) chmod 000 blocks nothing: make every open of
    `locked` fail as it would for an ordinary user."""
    real_open = io.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | Path) and Path(file).resolve() == locked.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    patch.setattr(builtins, "open", guarded_open)
    patch.setattr(io, "open", guarded_open)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestReport, Path]]:
    root = tmp_path_factory.mktemp("bad-files")
    folder = root / "messy"
    folder.mkdir()
    _write_messy_folder(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        if _readable(folder / "locked.md"):
            _deny_reading(patch, folder / "locked.md")
        assert not _readable(folder / "locked.md")  # the unreadable case is really exercised
        report = ingest_paths([folder], IndexConfig(root / "index"), HashingEmbedder())
        patch.undo()  # reading the index back needs the real `open`
        patch.chdir(root)
        yield report, root
    (folder / "locked.md").chmod(0o644)


def _failed(report: IngestReport) -> dict[str, str]:
    reasons = dict(report.failed)
    assert len(reasons) == len(report.failed), "a file is reported twice"
    return {source.removeprefix("messy/"): reason for source, reason in reasons.items()}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_bad_file_is_reported_with_its_reason(
    ingested: tuple[IngestReport, Path], name: str
) -> None:
    report, _ = ingested
    reason = _failed(report).get(name)
    assert reason is not None, f"{name} was not reported: {report.failed}"
    assert re.search(REFUSED[name], reason, re.IGNORECASE), reason


def test_every_file_is_either_added_or_reported(ingested: tuple[IngestReport, Path]) -> None:
    report, _ = ingested
    added = sorted(s.removeprefix("messy/") for s in report.added)
    handled = ["latin1.txt", "one_line.txt", "restricted.pdf", "sub/inner.md", "utf16.txt"]
    assert added == sorted([*GOOD, *handled])
    assert set(_failed(report)) == set(REFUSED)
    assert not report.updated and not report.removed


@pytest.fixture(scope="module")
def retriever(ingested: tuple[IngestReport, Path]) -> HybridRetriever:
    _, root = ingested
    return HybridRetriever(load_index(root / "index"), HashingEmbedder())


@pytest.mark.parametrize(
    ("query", "source", "words"),
    [
        ("zorblax turbine quillon", "messy/alpha.md", "zorblax turbine"),
        ("velmorian ledgers", "messy/bravo.md", "Velmorian archives"),
        ("Straßenbahn Brückenfest", "messy/utf16.txt", "Straßenbahn fährt pünktlich"),
        ("crème brûlée Noël", "messy/latin1.txt", "crème brûlée très sucrée à Noël"),
        ("Wyvernstone", "messy/one_line.txt", "Wyvernstone"),
        ("glimmerwick", "messy/sub/inner.md", "glimmerwick"),
        ("sprocket flange torque", "messy/restricted.pdf", "sprocket catalogue"),
    ],
)
def test_good_and_repaired_text_is_searchable(
    retriever: HybridRetriever, query: str, source: str, words: str
) -> None:
    hits = retriever.retrieve(query, top_k=3)
    assert hits and hits[0].chunk.source == source
    assert words in hits[0].chunk.text


def test_nothing_of_the_bad_files_is_indexed(retriever: HybridRetriever) -> None:
    state = retriever.state
    assert not any("\x00" in chunk.text for chunk in state.chunks.values())
    hits = retriever.retrieve("frobnicator gasket", top_k=10)  # the PDFs' words
    assert not any("frobnicator" in hit.chunk.text for hit in hits)
    assert not any(s.endswith("sub/loop/inner.md") for s in state.files)  # the loop not followed


def test_a_second_ingest_reports_the_same_files_and_changes_nothing(
    ingested: tuple[IngestReport, Path],
) -> None:
    first, root = ingested
    with pytest.MonkeyPatch.context() as patch:
        if _readable(root / "messy" / "locked.md"):
            _deny_reading(patch, root / "messy" / "locked.md")
        again = ingest_paths(
            [root / "messy"],
            IndexConfig(root / "index"),
            HashingEmbedder(),
        )
    assert sorted(again.unchanged) == sorted(first.added)
    assert set(_failed(again)) == set(REFUSED) and not again.changed
