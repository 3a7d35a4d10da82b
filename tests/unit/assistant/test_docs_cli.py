"""`kb docs list|remove|reindex` and collections (`--collection`, `.kb-collection`), run
in-process with the fakes (hashing embedder, scripted model)."""

import json
from pathlib import Path

import pytest

from assistant.frontends.cli.main import run
from index.hashing import file_sha256
from tests.support.fakes import FAKE_SETTINGS


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, value in FAKE_SETTINGS.items():
        monkeypatch.setenv(name, value)
    for folder, name, text in (
        ("corpus", "costs.md", "# Costs\n\nSelf-hosting is cheaper at very high volumes.\n"),
        ("corpus", "licences.md", "# Licences\n\nOpen weights come with licences.\n"),
        ("hr", "leave.md", "# Leave\n\nStaff get thirty days of leave a year.\n"),
    ):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(text)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _listed(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict]:
    code, out, _ = _run(capsys, "docs", "list", "--json", *extra)
    assert code == 0
    return {row["path"]: row for row in json.loads(out)}


def _sources(capsys: pytest.CaptureFixture[str], question: str, *extra: str) -> set[str]:
    code, out, err = _run(capsys, "retrieve", question, "--json", "--top-k", "10", *extra)
    assert code == 0, err
    return {hit["source"] for hit in json.loads(out)["hits"]}


def test_list_shows_each_document_with_its_collection_size_and_hash(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    _run(capsys, "ingest", "--collection", "hr", "hr")
    rows = _listed(capsys)
    assert set(rows) == {"corpus/costs.md", "corpus/licences.md", "hr/leave.md"}
    leave = rows["hr/leave.md"]
    assert leave["collection"] == "hr" and rows["corpus/costs.md"]["collection"] == "default"
    assert leave["title"] == "Leave" and leave["chunks"] >= 1 and leave["local_only"] is False
    assert leave["size"] == (workspace / "hr/leave.md").stat().st_size
    assert file_sha256(workspace / "hr/leave.md").startswith(leave["sha256"])
    assert leave["added"][:4].isdigit()
    assert set(_listed(capsys, "--collection", "hr")) == {"hr/leave.md"}
    code, table, _ = _run(capsys, "docs", "list")
    assert code == 0 and "COLLECTION" in table and "hr/leave.md" in table


def test_a_question_scoped_to_a_collection_finds_only_its_documents(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    _run(capsys, "ingest", "--collection", "hr", "hr")
    assert "hr/leave.md" in _sources(capsys, "days of leave")
    assert _sources(capsys, "days of leave", "--collection", "default") <= {
        "corpus/costs.md",
        "corpus/licences.md",
    }
    assert _sources(capsys, "days of leave", "--collection", "hr") == {"hr/leave.md"}
    code, _, err = _run(capsys, "ask", "days of leave", "--collection", "nosuch")
    assert code == 1 and "nosuch" in err and "default (2), hr (1)" in err
    with pytest.raises(SystemExit) as usage:
        run(["retrieve", "x", "--collection", "bad name!"])
    assert usage.value.code == 2 and "cannot name a collection" in capsys.readouterr().err


def test_a_folder_marker_names_the_collection_and_survives_a_plain_ingest(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "hr" / ".kb-collection").write_text("people\n")
    _run(capsys, "ingest", "corpus", "hr")
    assert _listed(capsys)["hr/leave.md"]["collection"] == "people"
    _run(capsys, "ingest", "--collection", "team", "corpus/costs.md")
    _run(capsys, "ingest", "corpus")  # no --collection: each file keeps the one it has
    rows = _listed(capsys)
    assert rows["corpus/costs.md"]["collection"] == "team"
    assert rows["corpus/licences.md"]["collection"] == "default"


def test_remove_by_path_and_glob_leaves_the_rest(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest", "corpus", "hr")
    code, _, err = _run(capsys, "docs", "remove", "corpus/costs.md")
    assert code == 0 and "removed corpus/costs.md" in err
    assert "corpus/costs.md" not in _sources(capsys, "Self-hosting cheaper volumes")
    assert (workspace / "corpus/costs.md").is_file()  # the file itself is left alone
    code, _, err = _run(capsys, "docs", "remove", "*.md")
    assert code == 0 and set(_listed(capsys)) == set()


def test_remove_of_an_unknown_document_changes_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    code, _, err = _run(capsys, "docs", "remove", "corpus/costs.md", "corpus/nope.md")
    assert code == 1 and "corpus/nope.md" in err and "kb docs list" in err
    assert "corpus/costs.md" in _listed(capsys)


def test_a_path_from_another_directory_and_a_folder_name_documents(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, "ingest", "corpus", "hr")
    monkeypatch.setenv("KB_HOME", str(workspace))
    monkeypatch.chdir(workspace / "hr")
    code, _, _ = _run(capsys, "docs", "remove", "leave.md")  # from here: hr/leave.md
    assert code == 0 and "hr/leave.md" not in _listed(capsys)
    code, _, _ = _run(capsys, "docs", "remove", "../corpus")  # a folder: all under it
    assert code == 0 and _listed(capsys) == {}


def test_reindex_reads_an_unchanged_document_again_and_keeps_when_it_was_added(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest", "--collection", "money", "corpus")
    before = _listed(capsys)["corpus/costs.md"]
    code, _, err = _run(capsys, "docs", "reindex", "corpus/costs.md")
    assert code == 0 and "1 updated" in err and "0 added" in err
    after = _listed(capsys)["corpus/costs.md"]
    assert after["added"] == before["added"] and after["collection"] == "money"
    code, _, err = _run(capsys, "ingest", "corpus")
    assert "0 updated" in err  # a plain ingest finds nothing changed


def test_removing_an_upload_deletes_the_pages_copy_of_it(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uploads = workspace / ".kb" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "notes.md").write_text("# Notes\n\nUploaded through the page.\n")
    _run(capsys, "ingest", "corpus", str(uploads))
    code, _, _ = _run(capsys, "docs", "remove", ".kb/uploads/notes.md", "corpus/costs.md")
    assert code == 0 and not (uploads / "notes.md").exists()  # nothing else would remove it
    assert (workspace / "corpus/costs.md").is_file()  # a user's own file stays


def test_eval_scoped_to_a_collection_misses_what_lies_outside_it(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    _run(capsys, "ingest", "--collection", "hr", "hr")
    row = {
        "id": "l1",
        "question": "How many days of leave do staff get?",
        "type": "fact",
        "gold_snippets": ["thirty days of leave"],
        "gold_files": ["leave.md"],
        "answer_must": [],
    }
    (workspace / "q.jsonl").write_text(json.dumps(row) + "\n")
    scores = {}
    for scope in ("hr", "default"):
        code, out, err = _run(
            capsys, "eval", "q.jsonl", "--json", "--no-answers", "--collection", scope
        )
        assert code == 0, err
        scores[scope] = json.loads(out)["hit@5"]
    assert scores == {"hr": 1.0, "default": 0.0}


def test_show_prints_the_cleaned_text_or_the_furniture_left_out(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = workspace / "corpus" / "page.txt"
    page.write_text("Hosting is cheaper at scale.\n\nSource: Image created by author\n")
    code, out, _ = _run(capsys, "docs", "show", "corpus/page.txt")
    assert code == 0 and "Hosting is cheaper" in out and "Image created" not in out
    code, out, _ = _run(capsys, "docs", "show", "corpus/page.txt", "--dropped")
    assert code == 0 and out == "- Source: Image created by author\n"
    code, out, err = _run(capsys, "docs", "show", "corpus/costs.md", "--dropped")
    assert code == 0 and out == "" and "nothing left out" in err
    code, _, err = _run(capsys, "docs", "show", "corpus/missing.md")
    assert code == 1 and "missing.md" in err
    code, _, err = _run(capsys, "ingest")
    assert "left out 1 lines of page furniture" in err
