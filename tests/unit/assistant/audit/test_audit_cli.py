"""`kb audit list|show|verify|export` and the audit entry of `kb doctor`, run in-process on a
log written in kb's home (the test's folder)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from assistant.audit.chain import record_hash
from assistant.audit.log import AuditLog
from assistant.audit.report import audit_report
from assistant.frontends.cli.main import run
from assistant.settings import load_settings
from tests.support.fakes import FAKE_SETTINGS

AUDIT_DIR = Path(".kb/audit")  # the default, against kb's home


def _record(surface: str, caller: str, question: str, **more: object) -> dict[str, object]:
    return {
        "kind": "answer",
        "surface": surface,
        "caller": caller,
        "scope": [],
        "question": question,
        "passages": [{"file": "docs/a.md", "chunk_id": 3, "file_sha256": "f" * 64}],
        "backend": "local",
        "model": "qwen",
        "route": {"mode": "auto", "why": "personal data", "personal_data": ["a phone number"]},
        "refused": False,
        "timings": {"total_s": 1.25},
        **more,
    }


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """kb's home with a log of three answers from three surfaces; their ids."""
    monkeypatch.chdir(tmp_path)
    log = AuditLog(tmp_path / AUDIT_DIR, secrets=[])
    return [
        log.append(_record("page", "alice", "How much leave do I get?")),
        log.append(_record("slack", "T1/U2/C3", "=HYPERLINK(evil) what is the VPN?")),
        log.append(_record("api", "ci-bot", "Is self-hosting cheaper?", refused=True)),
    ]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _edit_second_record(folder: Path) -> None:
    path = folder / "audit.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    record["caller"] = "mallory"
    lines[1] = json.dumps(record) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_list_shows_a_line_per_record_and_filters(
    home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "audit", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert home[0] in lines[0] and "  page  alice  scope=all  answered  local/qwen  " in lines[0]
    assert lines[0].endswith("How much leave do I get?") and "refused" in lines[2]
    _, out, _ = _run(capsys, "audit", "list", "--surface", "slack")
    assert [line.split("  ")[1] for line in out.splitlines()] == [home[1]]
    _, out, _ = _run(capsys, "audit", "list", "--caller", "T1/*")
    assert len(out.splitlines()) == 1 and "T1/U2/C3" in out
    _, out, _ = _run(capsys, "audit", "list", "--since", "1h", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == home
    _, out, _ = _run(capsys, "audit", "list", "--since", "2999-01-01")
    assert out == ""


def test_list_of_a_hashed_question_shows_its_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    AuditLog(tmp_path / AUDIT_DIR, questions="hash", secrets=[]).append(
        _record("page", "bob", "Who is on call tonight?")
    )
    _, out, _ = _run(capsys, "audit", "list")
    assert "sha256:" in out and "on call" not in out


def test_a_bad_since_is_a_usage_error(home: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(["audit", "list", "--since", "yesterday-ish"])
    assert exit_.value.code == 2


def test_show_prints_the_whole_record_or_says_there_is_none(
    home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "audit", "show", home[1])
    record = json.loads(out)
    assert code == 0 and record["id"] == home[1] and record["hash"] == record_hash(record)
    assert out.startswith("{\n  ")  # indented
    code, out, err = _run(capsys, "audit", "show", "20990101T000000Z-00000000")
    assert code == 1 and out == "" and "kb: error: no audit record" in err


def test_verify_passes_then_fails_on_one_edited_field(
    home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "audit", "verify")
    assert code == 0 and out.startswith("3 records in 1 files verify") and err == ""
    anchor = out.split("last hash: ")[1].split()[0]
    assert _run(capsys, "audit", "verify", "--anchor", anchor)[0] == 0
    assert _run(capsys, "audit", "verify", "--anchor", "0" * 63 + "1")[0] == 1
    _edit_second_record(AUDIT_DIR)
    code, out, err = _run(capsys, "audit", "verify")
    assert code == 1 and out == ""
    assert f"audit.jsonl line 2 (id {home[1]}) edited: hash mismatch" in err
    assert err.startswith("kb: error: the audit log does not verify")


def test_verify_warns_of_a_torn_line_and_passes(
    home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with open(AUDIT_DIR / "audit.jsonl", "ab") as handle:
        handle.write(b'{"id": "half a rec')
    code, out, err = _run(capsys, "audit", "verify")
    assert code == 0 and out.startswith("3 records in 1 files verify")
    assert "kb: warning: audit.jsonl line 4: torn line (crash mid-write) skipped" in err


def test_export_jsonl_keeps_records_whole(
    home: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "audit", "export", "--since", "1d", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in records] == home
    assert all(record_hash(r) == r["hash"] for r in records)
    assert "3 audit record(s) written to stdout" in err
    code, _, _ = _run(capsys, "audit", "export", "--out", str(tmp_path / "all.jsonl"))
    assert code == 0 and (tmp_path / "all.jsonl").read_text(encoding="utf-8") == out


def test_export_csv_has_flat_columns_and_defuses_formulas(
    home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "audit", "export", "--format", "csv", "--surface", "slack")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1
    row = rows[0]
    assert row["id"] == home[1] and row["caller"] == "T1/U2/C3" and row["refused"] == "false"
    assert row["passages"] == f"docs/a.md#3@{'f' * 64}"
    assert row["route.why"] == "personal data" and row["route.personal_data"] == "a phone number"
    assert row["timings.total_s"] == "1.25" and row["scope"] == ""
    assert row["question"] == "'=HYPERLINK(evil) what is the VPN?"
    assert list(row)[-2:] == ["prev", "hash"]


def test_a_missing_log_lists_nothing_and_verifies_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "audit", "list")
    assert code == 0 and out == "" and "no audit log yet" in err
    code, out, _ = _run(capsys, "audit", "verify")
    assert code == 0 and out.startswith("0 records in 0 files verify")


def test_the_doctor_report_shows_place_size_and_whether_it_verifies(home: list[str]) -> None:
    settings = load_settings()
    report = audit_report(settings.audit)
    assert report["dir"] == str(Path.cwd() / AUDIT_DIR) and report["files"] == 1
    assert report["bytes"] == (AUDIT_DIR / "audit.jsonl").stat().st_size
    assert report["records"] == 3 and report["verifies"] is True and "problem" not in report
    _edit_second_record(AUDIT_DIR)
    report = audit_report(settings.audit)
    assert report["verifies"] is False and "edited: hash mismatch" in report["problem"]


def test_kb_doctor_has_the_audit_entry(
    home: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAKE_SETTINGS.items():
        monkeypatch.setenv(name, value)
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    audit = json.loads(out)["audit"]
    assert audit["records"] == 3 and audit["verifies"] is True and audit["enabled"] is True
