"""What `kb doctor` says of the audit log: where it is, its files and size, how many records,
and whether the chain verifies (with the first problem and any torn lines). Reading only."""

from __future__ import annotations

from typing import Any

from assistant.audit.log import open_audit_log
from assistant.settings import AuditSettings


def audit_report(settings: AuditSettings) -> dict[str, Any]:
    """The log's place, size and state, checked whole (every record is read); a folder that
    cannot be read is said, never raised (doctor reports, it does not fail)."""
    try:
        return _report(settings)
    except OSError as exc:
        return {"enabled": settings.enabled, "dir": str(settings.dir), "error": str(exc)}


def _report(settings: AuditSettings) -> dict[str, Any]:
    log = open_audit_log(settings)
    files = log.files()
    report: dict[str, Any] = {
        "enabled": settings.enabled,
        "dir": str(settings.dir),
        "questions": settings.questions,
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
    }
    if not files:
        return report | {"records": 0, "verifies": True}
    check = log.verify()
    report |= {"records": check.records, "verifies": check.ok, "last_hash": check.last_hash}
    if check.problem:
        report["problem"] = check.problem
        report["fix"] = "see `kb audit verify`, and docs/audit.md on what a broken chain means"
    if check.warnings:
        report["warnings"] = check.warnings
    return report
