"""Incremental ingest with the hashing fake: add, modify, delete, skip, fail, crash, clean up."""

from pathlib import Path

import numpy as np
import pytest

import index.storage as storage
from index.builder import ingest_paths
from index.config import IndexConfig
from index.errors import IndexMismatchError, IndexNotBuiltError
from index.storage import load_index
from ingest.splitter import ChunkingParams
from tests.support.fakes import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.embedded = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed(texts)


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha talks about licences and weights.\n")
    (folder / "b.txt").write_text("Bravo discusses hosting costs at scale.\n")
    return folder


def _ingest(folder: Path, embedder: CountingEmbedder, **kw: object):  # type: ignore[no-untyped-def]
    return ingest_paths(
        [folder],
        IndexConfig(Path(".kb/index"), exclude=["SOURCES.md"]),
        embedder,
        **kw,
    )


def _sources(index_dir: Path = Path(".kb/index")) -> set[str]:
    state = load_index(index_dir)
    assert {c.source for c in state.chunks.values()} == set(state.files)
    assert len(state.store) == len(state.chunks)
    return set(state.files)


def test_first_ingest_adds_everything(docs: Path) -> None:
    report = _ingest(docs, CountingEmbedder())
    assert sorted(report.added) == ["docs/a.md", "docs/b.txt"] and not report.failed
    assert _sources() == {"docs/a.md", "docs/b.txt"}


def test_unchanged_files_are_skipped_without_embedding(docs: Path) -> None:
    _ingest(docs, CountingEmbedder())
    embedder = CountingEmbedder()
    before = storage.current_generation(Path(".kb/index"))
    report = _ingest(docs, embedder)
    assert sorted(report.unchanged) == ["docs/a.md", "docs/b.txt"] and not report.changed
    assert embedder.embedded == 0
    assert storage.current_generation(Path(".kb/index")) == before  # nothing rewritten


def test_modified_file_replaces_its_chunks(docs: Path) -> None:
    _ingest(docs, CountingEmbedder())
    (docs / "a.md").write_text("# Alpha\n\nAlpha now covers privacy on premises.\n")
    embedder = CountingEmbedder()
    report = _ingest(docs, embedder)
    assert report.updated == ["docs/a.md"] and report.unchanged == ["docs/b.txt"]
    assert embedder.embedded == 1  # only the changed file's chunk
    texts = [c.text for c in load_index(Path(".kb/index")).chunks.values()]
    assert any("privacy" in t for t in texts) and not any("licences" in t for t in texts)


def test_deleted_file_loses_its_chunks(docs: Path) -> None:
    _ingest(docs, CountingEmbedder())
    (docs / "b.txt").unlink()
    report = _ingest(docs, CountingEmbedder())
    assert report.removed == ["docs/b.txt"]
    assert _sources() == {"docs/a.md"}


def test_a_corrupt_file_is_reported_and_the_rest_ingested(docs: Path) -> None:
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = _ingest(docs, CountingEmbedder())
    assert [source for source, _ in report.failed] == ["docs/bad.pdf"]
    assert "could not read .pdf" in report.failed[0][1]
    assert _sources() == {"docs/a.md", "docs/b.txt"}


def test_excluded_and_missing_paths(docs: Path) -> None:
    (docs / "SOURCES.md").write_text("# Sources\n\nWhere things came from.\n")
    report = ingest_paths(
        [docs, Path("nope")],
        IndexConfig(Path(".kb/index"), exclude=["SOURCES.md"]),
        CountingEmbedder(),
    )
    assert report.failed == [("nope", "no such file or folder")]
    assert "docs/SOURCES.md" not in _sources()


def test_changed_chunking_is_a_mismatch_naming_the_rebuild(docs: Path) -> None:
    _ingest(docs, CountingEmbedder())
    with pytest.raises(IndexMismatchError, match="kb ingest --rebuild"):
        ingest_paths(
            [docs],
            IndexConfig(Path(".kb/index"), ChunkingParams(max_tokens=99)),
            CountingEmbedder(),
        )
    with pytest.raises(IndexMismatchError, match="embedder"):
        ingest_paths(
            [docs],
            IndexConfig(Path(".kb/index")),
            HashingEmbedder(32),
        )
    report = ingest_paths(
        [docs],
        IndexConfig(Path(".kb/index"), ChunkingParams(max_tokens=99)),
        CountingEmbedder(),
        rebuild=True,
    )
    assert len(report.added) == 2


def test_crash_mid_write_keeps_the_old_index(docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ingest(docs, CountingEmbedder())
    (docs / "c.md").write_text("# Charlie\n\nNew text.\n")

    def crash(folder: Path, state: object) -> None:
        (folder / "vectors.faiss").write_bytes(b"half written")
        raise OSError("disk full")

    with monkeypatch.context() as patched, pytest.raises(OSError, match="disk full"):
        patched.setattr(storage, "_write_files", crash)
        _ingest(docs, CountingEmbedder())
    assert _sources() == {"docs/a.md", "docs/b.txt"}  # the old generation is intact and current
    assert _ingest(docs, CountingEmbedder()).added == ["docs/c.md"]


def test_an_ingest_removes_what_a_killed_one_left_even_with_nothing_to_do(docs: Path) -> None:
    _ingest(docs, CountingEmbedder())
    index_dir = Path(".kb/index")
    current = storage.current_generation(index_dir)
    leftovers = [index_dir / ".tmp-gen-killed", index_dir / "gen-never-current"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "chunks.jsonl").write_text("half")
    (index_dir / ".CURRENT.tmp").write_text("gen-never-current")
    assert not _ingest(docs, CountingEmbedder()).changed
    assert not any(folder.exists() for folder in leftovers)
    assert not (index_dir / ".CURRENT.tmp").exists()
    assert storage.current_generation(index_dir) == current


def test_without_a_current_generation_only_staging_folders_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".tmp-gen-killed").mkdir()
    (tmp_path / "gen-lost-pointer").mkdir()
    storage.remove_stale(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["gen-lost-pointer"]


def test_loading_without_an_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(IndexNotBuiltError, match="kb ingest"):
        load_index(tmp_path / "none")


def test_sources_are_named_against_the_home_from_any_directory(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    index_dir = tmp_path / ".kb/index"
    report = ingest_paths([docs], IndexConfig(index_dir, base=tmp_path), CountingEmbedder())
    assert sorted(report.added) == ["docs/a.md", "docs/b.txt"]
    (docs / "b.txt").unlink()  # removals match those names too, wherever kb is run from
    monkeypatch.chdir(docs)
    again = ingest_paths([docs], IndexConfig(index_dir, base=tmp_path), CountingEmbedder())
    assert again.removed == ["docs/b.txt"] and _sources(index_dir) == {"docs/a.md"}


def test_a_folder_scan_skips_hidden_folders_like_kbs_own(docs: Path, tmp_path: Path) -> None:
    (docs / ".kb" / "index").mkdir(parents=True)
    (docs / ".kb" / "index" / "manifest.json").write_text('{"embedder": "x"}')
    (docs / ".git").mkdir()
    (docs / ".git" / "notes.txt").write_text("not a document")
    report = ingest_paths(
        [docs], IndexConfig(tmp_path / "index", base=tmp_path), CountingEmbedder()
    )
    assert sorted(report.added) == ["docs/a.md", "docs/b.txt"]
    hidden = tmp_path / ".hidden-home"  # a hidden folder named itself is still read
    hidden.mkdir()
    (hidden / "c.md").write_text("# C\n\nCharlie.\n")
    again = ingest_paths(
        [hidden],
        IndexConfig(tmp_path / "index", base=tmp_path),
        CountingEmbedder(),
    )
    assert again.added == [".hidden-home/c.md"]


def test_furniture_is_reported_and_older_cleaning_is_read_again(
    docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (docs / "ad.txt").write_text(
        "Hosting at scale is cheaper.\n\nGPUs from $1/hr, starting at just $1/hr.\n\n"
        "👉 Learn More\n"
    )
    report = _ingest(docs, CountingEmbedder())
    assert report.furniture == {"docs/ad.txt": 2}
    assert "kb docs show PATH --dropped" in (report.furniture_summary() or "")
    assert "$1/hr" not in " ".join(c.text for c in load_index(Path(".kb/index")).chunks.values())
    assert _ingest(docs, CountingEmbedder()).furniture == {}  # nothing read again
    monkeypatch.setattr("index.planning.CLEANING_VERSION", "next")  # planning compares it
    monkeypatch.setattr("index.builder.CLEANING_VERSION", "next")
    again = _ingest(docs, CountingEmbedder())
    assert sorted(again.updated) == ["docs/a.md", "docs/ad.txt", "docs/b.txt"]
