"""Stat before hashing: a file with its recorded size and time is unchanged without being read;
anything else is hashed, and only new bytes (or a new place or cleaning rule) are read again."""

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import index.planning as planning
import index.storage as storage
from index.builder import IngestReport, ingest_paths
from index.config import IndexConfig
from tests.support.fakes import HashingEmbedder

INDEX = Path(".kb/index")
HOUR_AGO_NS = 1_700_000_000 * 10**9  # any time well past RACY_NS


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha talks about licences and weights.\n")
    (folder / "b.txt").write_text("Bravo discusses hosting costs at scale.\n")
    for path in folder.iterdir():
        _set_mtime(path, HOUR_AGO_NS)
    return folder


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths planning hashes, in order."""
    calls: list[Path] = []
    real: Callable[[Path], str] = planning.file_sha256

    def counted(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(planning, "file_sha256", counted)
    return calls


def _set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _ingest(folder: Path, **choices: object) -> IngestReport:
    return ingest_paths([folder], IndexConfig(INDEX), HashingEmbedder(64), **choices)  # type: ignore[arg-type]


def _indexed(text: str) -> bool:
    return any(text in c.text for c in storage.load_index(INDEX).chunks.values())


def test_files_with_their_recorded_size_and_time_are_not_hashed(
    docs: Path, hashed: list[Path]
) -> None:
    _ingest(docs)
    assert storage.current_files(INDEX)["docs/a.md"].mtime_ns == HOUR_AGO_NS
    hashed.clear()
    report = _ingest(docs)
    assert sorted(report.unchanged) == ["docs/a.md", "docs/b.txt"] and hashed == []
    (docs / "a.md").write_text("# Alpha\n\nAlpha now covers privacy on premises, at length.\n")
    _set_mtime(docs / "a.md", HOUR_AGO_NS + 10**9)
    report = _ingest(docs)
    assert report.updated == ["docs/a.md"] and hashed == [docs / "a.md"]


def test_a_same_size_rewrite_with_a_new_time_is_read_again(docs: Path) -> None:
    _ingest(docs)
    old = (docs / "b.txt").read_text()
    new = "Bravo discusses privacy costs at scale.\n"
    assert len(new) == len(old) and new != old
    (docs / "b.txt").write_text(new)
    _set_mtime(docs / "b.txt", HOUR_AGO_NS + 1)  # one nanosecond later is enough
    assert _ingest(docs).updated == ["docs/b.txt"]
    assert _indexed(new.strip())


def _drop_times() -> None:
    """Make the current generation look written before times were recorded."""
    generation = storage.current_generation(INDEX)
    assert generation is not None
    files = generation / "files.json"
    records = json.loads(files.read_text())
    for record in records.values():
        del record["mtime_ns"]
    files.write_text(json.dumps(records))


def test_a_record_without_a_time_is_hashed_and_kept_when_unchanged(
    docs: Path, hashed: list[Path]
) -> None:
    _ingest(docs)
    _drop_times()
    hashed.clear()
    report = _ingest(docs)
    assert sorted(report.unchanged) == ["docs/a.md", "docs/b.txt"] and not report.changed
    assert sorted(hashed) == [docs / "a.md", docs / "b.txt"]
    assert storage.current_files(INDEX)["docs/a.md"].mtime_ns is None  # nothing saved for it


def test_a_touch_keeps_the_chunks_and_its_time_goes_with_the_next_generation(
    docs: Path, hashed: list[Path]
) -> None:
    _ingest(docs)
    before, generation = storage.load_index(INDEX), storage.current_generation(INDEX)
    _set_mtime(docs / "a.md", HOUR_AGO_NS + 10**9)
    hashed.clear()
    report = _ingest(docs)
    assert sorted(report.unchanged) == ["docs/a.md", "docs/b.txt"] and not report.changed
    assert hashed == [docs / "a.md"]
    assert storage.current_generation(INDEX) == generation  # a touch rewrites nothing
    assert storage.load_index(INDEX).chunks == before.chunks
    (docs / "c.md").write_text("# Charlie\n\nNew text.\n")  # a real change saves, with a.md's time
    _set_mtime(docs / "c.md", HOUR_AGO_NS)
    assert _ingest(docs).added == ["docs/c.md"]
    assert storage.current_files(INDEX)["docs/a.md"].mtime_ns == HOUR_AGO_NS + 10**9
    after = storage.load_index(INDEX).files["docs/a.md"]
    assert after.chunk_ids == before.files["docs/a.md"].chunk_ids
    hashed.clear()
    assert not _ingest(docs).changed and hashed == []


def test_a_file_read_just_after_it_was_written_is_hashed_next_time(docs: Path) -> None:
    fresh = docs / "fresh.md"
    fresh.write_text("# Fresh\n\nWritten a moment ago.\n")
    _ingest(docs)
    assert storage.current_files(INDEX)["docs/fresh.md"].mtime_ns is None
    written_at = fresh.stat().st_mtime_ns
    fresh.write_text("# Fresh\n\nWritten a moment on.\n")  # same size, same coarse time tick
    _set_mtime(fresh, written_at)
    assert _ingest(docs).updated == ["docs/fresh.md"]
    assert _indexed("Written a moment on.")


@pytest.mark.parametrize("change", ["reindex", "collection", "local-only", "cleaning"])
def test_a_file_with_its_size_and_time_is_read_again_when_asked_or_moved(
    docs: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(docs)
    choices: dict[str, object] = {}
    if change == "reindex":
        choices["reindex"] = {"docs/a.md"}
    elif change == "collection":
        choices["collection"] = "other"
    elif change == "local-only":
        (docs / ".kb-local-only").touch()
    else:
        monkeypatch.setattr(planning, "CLEANING_VERSION", "next")
    expected = ["docs/a.md"] if change == "reindex" else ["docs/a.md", "docs/b.txt"]
    assert sorted(_ingest(docs, **choices).updated) == expected


def test_markers_are_looked_up_per_folder(docs: Path) -> None:
    (docs / "hr").mkdir()
    (docs / "hr" / ".kb-collection").write_text("hr\n")
    (docs / "hr" / ".kb-local-only").touch()
    (docs / "hr" / "pay.md").write_text("# Pay\n\nSalaries are paid monthly.\n")
    _ingest(docs)
    files = storage.current_files(INDEX)
    assert (files["docs/hr/pay.md"].collection, files["docs/hr/pay.md"].local_only) == ("hr", True)
    assert (files["docs/a.md"].collection, files["docs/a.md"].local_only) == ("default", False)


def test_a_linked_file_takes_the_markers_above_its_target(docs: Path, tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    (private / ".kb-collection").write_text("private\n")
    (private / "x.md").write_text("# X\n\nKept elsewhere.\n")
    (docs / "x.md").symlink_to(private / "x.md")
    _ingest(docs)
    files = storage.current_files(INDEX)
    assert files["private/x.md"].collection == "private"
    assert files["docs/a.md"].collection == "default"
