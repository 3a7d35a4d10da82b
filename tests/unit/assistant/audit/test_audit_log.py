"""The audit log's hash chain: what verify accepts, what it catches (an edited field, a removed
or reordered line, a cut rotated file), crashes mid-write, rotation, reading back."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.audit.chain import BROKEN_LINK, EDITED, GENESIS, NO_ANCHOR, TORN, record_hash
from assistant.audit.log import CURRENT, AuditLog


def _log(tmp_path: Path, max_bytes: int = 2**20) -> AuditLog:
    return AuditLog(tmp_path / "audit", max_bytes=max_bytes, secrets=[])


def _filled(tmp_path: Path, n: int = 5, max_bytes: int = 2**20) -> tuple[AuditLog, list[str]]:
    log = _log(tmp_path, max_bytes)
    ids = [log.append({"question": f"question {i}", "n": i}) for i in range(n)]
    return log, ids


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_fresh_chain_verifies_and_links_every_record(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path)
    check = log.verify()
    assert check.ok and check.records == 5 and check.files == 1 and not check.warnings
    records = list(log.records())
    assert [r["id"] for r in records] == ids and records[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(records))
    assert all(record_hash(r) == r["hash"] for r in records)
    assert check.last_hash == records[-1]["hash"]


def test_one_edited_field_fails_naming_that_record(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path)
    lines = _lines(log.current)
    record = json.loads(lines[2])
    record["question"] = "question 2, edited"
    lines[2] = json.dumps(record) + "\n"
    log.current.write_text("".join(lines), encoding="utf-8")
    check = log.verify()
    assert not check.ok and check.why == EDITED and check.record_id == ids[2]
    assert check.place is not None and check.place.line == 3 and check.records == 2
    assert check.problem == f"{CURRENT} line 3 (id {ids[2]}) {EDITED}"


def test_an_edit_that_also_recomputes_the_hash_breaks_the_next_link(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path)
    lines = _lines(log.current)
    record = json.loads(lines[1])
    record["refused"] = True
    record["hash"] = record_hash(record)
    lines[1] = json.dumps(record) + "\n"
    log.current.write_text("".join(lines), encoding="utf-8")
    check = log.verify()
    assert not check.ok and check.why == BROKEN_LINK and check.record_id == ids[2]


@pytest.mark.parametrize("damage", ["remove", "swap", "remove_first"])
def test_a_removed_or_reordered_line_fails(tmp_path: Path, damage: str) -> None:
    log, _ = _filled(tmp_path)
    lines = _lines(log.current)
    if damage == "remove":
        del lines[2]
    elif damage == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        del lines[0]
    log.current.write_text("".join(lines), encoding="utf-8")
    check = log.verify()
    assert not check.ok and check.why is not None and check.why.startswith(BROKEN_LINK)


def test_a_torn_last_line_is_reported_skipped_and_the_next_append_starts_anew(
    tmp_path: Path,
) -> None:
    log, ids = _filled(tmp_path, 3)
    whole = json.dumps({"id": "x", "question": "half of a rec"})
    with open(log.current, "ab") as handle:  # a crash mid-write: half a line, no newline
        handle.write(whole[: len(whole) // 2].encode())
    check = log.verify()
    assert check.ok and check.records == 3
    assert check.warnings == [f"{CURRENT} line 4: {TORN}"]
    assert [r["id"] for r in log.records()] == ids
    new_id = log.append({"question": "after the crash"})
    lines = _lines(log.current)
    assert len(lines) == 5 and lines[3].endswith("\n") and json.loads(lines[4])["id"] == new_id
    assert json.loads(lines[4])["prev"] == json.loads(lines[2])["hash"]  # the last good one
    check = log.verify()
    assert check.ok and check.records == 4 and check.warnings == [f"{CURRENT} line 4: {TORN}"]


def test_a_torn_line_that_hid_a_record_fails_at_the_next_record(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path)
    lines = _lines(log.current)
    lines[2] = lines[2][:40] + "\n"  # a middle record cut short: it was not a crash
    log.current.write_text("".join(lines), encoding="utf-8")
    check = log.verify()
    assert not check.ok and check.record_id == ids[3] and check.why is not None
    assert check.why.startswith(BROKEN_LINK) and "torn" in check.why
    assert check.warnings == [f"{CURRENT} line 3: {TORN}"]


def test_rotation_by_size_keeps_the_chain_across_files(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path, 12, max_bytes=600)
    files = log.files()
    assert len(files) >= 3 and files[-1].name == CURRENT
    assert [f.name for f in files[:2]] == ["audit.000001.jsonl", "audit.000002.jsonl"]
    assert all(f.stat().st_size < 600 + 400 for f in files)
    first_of_second = json.loads(_lines(files[1])[0])
    last_of_first = json.loads(_lines(files[0])[-1])
    assert first_of_second["prev"] == last_of_first["hash"]
    check = log.verify()
    assert check.ok and check.records == 12 and check.files == len(files)
    assert [r["id"] for r in log.records()] == ids and log.find(ids[0]) is not None


def test_verify_spans_files_an_edit_or_a_lost_file_in_the_middle_fails(tmp_path: Path) -> None:
    log, _ = _filled(tmp_path, 12, max_bytes=600)
    first = log.files()[0]
    lines = _lines(first)
    lines[0] = lines[0].replace("question 0", "question X")
    first.write_text("".join(lines), encoding="utf-8")
    check = log.verify()
    assert not check.ok and check.why == EDITED and check.place is not None
    assert check.place.file.name == "audit.000001.jsonl"
    log2, _ = _filled(tmp_path / "other", 12, max_bytes=600)
    log2.files()[1].unlink()
    assert log2.verify().why == BROKEN_LINK


def test_an_anchor_kept_elsewhere_catches_a_rewritten_log(tmp_path: Path) -> None:
    log, _ = _filled(tmp_path, 3)
    anchor = log.verify().last_hash
    log.append({"question": "later"})
    assert log.verify(anchor).ok
    for path in log.files():  # an attacker rewrites the whole chain from the start
        path.unlink()
    _log(tmp_path).append({"question": "forged"})
    assert log.verify().ok
    check = log.verify(anchor)
    assert not check.ok and check.why == NO_ANCHOR


def test_records_since_and_find(tmp_path: Path) -> None:
    log, ids = _filled(tmp_path, 3)
    assert log.find(ids[1]) == list(log.records())[1] and log.find("nope") is None
    future = datetime.now(UTC) + timedelta(hours=1)
    past = datetime.now(UTC) - timedelta(hours=1)
    assert list(log.records(future)) == [] and len(list(log.records(past))) == 3
    naive_past = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    assert len(list(log.records(naive_past))) == 3


def test_ids_are_unique_and_sort_by_time(tmp_path: Path) -> None:
    _, ids = _filled(tmp_path, 50)
    assert len(set(ids)) == 50 and sorted(ids, key=lambda i: i.split("-")[0]) == ids


def test_a_missing_log_verifies_empty_and_reads_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path)
    check = log.verify()
    assert check.ok and check.records == 0 and check.files == 0
    assert list(log.records()) == [] and log.find("x") is None and log.files() == []


def test_files_are_private_to_their_owner(tmp_path: Path) -> None:
    log, _ = _filled(tmp_path, 1)
    assert log.current.stat().st_mode & 0o077 == 0
