"""What an answer's audit record holds (caller, scope, passages with file hashes, model and
route with its reasons as values), `questions: hash`, no secret ever, and the GGUF sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from assistant.access import Caller
from assistant.answering.models import Answer
from assistant.audit import fingerprint
from assistant.audit.fingerprint import gguf_sha256
from assistant.audit.log import AuditLog
from assistant.audit.records import answer_record, model_fingerprint
from assistant.backends.llms.base import UsageSummary
from assistant.backends.llms.llama_cpp import LlamaCppChatModel
from assistant.backends.model_files import QWEN_05B
from assistant.backends.pool import BackendChoice, ChatModelPool
from index.models import Hit
from index.storage import FileRecord
from ingest.models import Chunk
from tests.integration.test_secrets import IN_DOTENV, IN_ENVIRONMENT, SECRETS, assert_clean
from tests.support.fakes import ScriptedChatModel

SLACK = Caller("slack", "T01/U02/C03")
FILES = {
    "docs/costs.md": FileRecord("a" * 64, (1, 2)),
    "hr/pay.md": FileRecord("b" * 64, (7,), local_only=True),
}
USAGE = UsageSummary(prompt_tokens=120, completion_tokens=30, estimated=False, cost_usd=0.0)


def _hit(source: str, chunk_id: int, text: str, local_only: bool = False) -> Hit:
    meta = {"local_only": "true"} if local_only else {}
    chunk = Chunk(chunk_id, source, None, (), None, 0, len(text), text, meta)
    return Hit(chunk, 0.5)


COSTS = _hit("docs/costs.md", 2, "Self-hosting is cheaper at very high volumes.")
PAY = _hit("hr/pay.md", 7, "Pay questions go to payroll@example.com.", local_only=True)


def _answer(**changes: Any) -> Answer:
    values: dict[str, Any] = {
        "question": "Is self-hosting cheaper?",
        "text": "Yes [1].",
        "citations": (),
        "passages": (COSTS,),
        "backend": "local",
        "model": "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M",
        "timings": {"retrieve_s": 0.02, "total_s": 3.5},
        "query": "Is self-hosting cheaper?",
        "usage": USAGE,
    }
    return Answer(**(values | changes))


def _record(answer: Answer, **options: Any) -> dict[str, Any]:
    options = {"questions": "text", "gguf_sha256": "c" * 64, **options}
    return answer_record(answer, SLACK, ["default"], FILES, "gen-000042", **options)


def test_the_record_holds_caller_scope_question_passages_model_and_costs() -> None:
    record = _record(_answer())
    assert record["surface"] == "slack" and record["caller"] == "T01/U02/C03"
    assert record["scope"] == ["default"] and record["generation"] == "gen-000042"
    assert record["question"] == "Is self-hosting cheaper?"
    assert record["question_sha256"] == hashlib.sha256(b"Is self-hosting cheaper?").hexdigest()
    assert record["passages"] == [{"file": "docs/costs.md", "chunk_id": 2, "file_sha256": "a" * 64}]
    assert (record["backend"], record["gguf_sha256"]) == ("local", "c" * 64)
    assert record["model"] == "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M"
    assert record["refused"] is False and record["timings"]["total_s"] == 3.5
    assert record["tokens"] == {**USAGE}
    assert record["route"] == {
        "mode": None,
        "why": "chosen",
        "reason": None,
        "personal_data": [],
        "local_only": [],
        "fell_back": False,
    }


def test_auto_keeping_personal_data_local_says_which_kind() -> None:
    answer = _answer(
        passages=(COSTS, PAY),
        route="kept on local: the passages contain an e-mail address",
    )
    route = _record(answer)["route"]
    assert route["mode"] == "auto" and route["why"] == "personal data"
    assert route["personal_data"] == ["an e-mail address"] and route["local_only"] == ["hr/pay.md"]
    assert route["reason"] == "kept on local: the passages contain an e-mail address"


def test_auto_with_local_only_documents_and_auto_with_nothing_to_keep() -> None:
    private = _hit("hr/plan.md", 9, "The reorganisation plan.", local_only=True)
    kept = _record(_answer(passages=(private,), route="kept on local: ..."), requested="auto")
    assert kept["route"]["why"] == "local-only documents"
    assert kept["route"]["local_only"] == ["hr/plan.md"]
    sent = _record(_answer(route="sent to openai: no sensitive data"), requested="auto")
    assert sent["route"]["why"] == "auto" and sent["route"]["personal_data"] == []


def test_a_named_hosted_profile_refused_for_local_only_documents() -> None:
    choices = [BackendChoice("local", "Local"), BackendChoice("openai", "OpenAI", hosted=True)]
    pool = ChatModelPool(
        choices, {"local": ScriptedChatModel, "openai": ScriptedChatModel}, "local"
    )
    plan = pool.router("openai")("What is the plan?", [], [PAY.chunk])
    assert plan.refused is not None  # the pool's own words
    answer = _answer(passages=(PAY,), refused=True, note=plan.refused, backend="openai")
    route = _record(answer, requested="openai", gguf_sha256=None)["route"]
    assert route["why"] == "local-only documents" and route["mode"] == "openai"


def test_a_fallback_is_recorded() -> None:
    answer = _answer(fell_back=True, note="openai failed (timeout); answered by local")
    record = _record(answer, requested="openai")
    assert record["route"]["why"] == "fallback" and record["route"]["fell_back"] is True


def test_questions_hash_keeps_no_question_text(tmp_path: Path) -> None:
    question = "What does Alice Smith earn in the Lisbon office?"
    record = _record(_answer(question=question, query=question), questions="hash")
    assert "question" not in record
    log = AuditLog(tmp_path, questions="hash", secrets=[])
    log.append(record)
    log.append({"question": question})  # the log itself holds to the setting
    text = log.current.read_text(encoding="utf-8")
    assert "Alice" not in text and "Lisbon" not in text and log.verify().ok
    digest = hashlib.sha256(question.encode()).hexdigest()
    assert [r["question_sha256"] for r in log.records()] == [digest, digest]


def test_no_secret_reaches_the_log_even_in_a_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # kb's home (KB_HOME=.), whose .env holds secrets
    for name, value in IN_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    password = SECRETS["the password in a base_url"]
    monkeypatch.setenv("KB_PROFILES__LAB__BASE_URL", f"http://kb:{password}@127.0.0.1:9/v1")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in IN_DOTENV.items()))
    pasted = " ".join(SECRETS.values()) + " and a stranger's key ghp_" + "x1" * 18
    question = f"why does {pasted} fail at https://me:{password}@lab.example/v1?"
    answer = _answer(question=question, query=question, note=f"lab failed: {password}")
    log = AuditLog(tmp_path / "audit")
    log.append(answer_record(answer, Caller("api", "ci-bot"), [], FILES, None, None, "text"))
    text = log.current.read_text(encoding="utf-8")
    assert_clean("the audit log", text)
    assert "ghp_" + "x1" * 18 not in text and "why does ***" in text
    assert log.verify().ok


def test_a_packaged_model_is_named_by_its_known_hash_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf = tmp_path / QWEN_05B.file_name
    gguf.write_bytes(b"GGUF stands in for half a gigabyte")
    stat = gguf.stat()
    marker = f"{QWEN_05B.sha256} {stat.st_size} {stat.st_mtime_ns}\n"
    gguf.with_name(gguf.name + ".verified").write_text(marker)

    def never(path: Path) -> str:
        raise AssertionError("a verified packaged model was hashed again")

    monkeypatch.setattr(fingerprint, "file_sha256", never)
    assert gguf_sha256(gguf) == QWEN_05B.sha256
    assert model_fingerprint(LlamaCppChatModel(gguf)) == QWEN_05B.sha256


def test_another_gguf_is_hashed_once_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"my own model")
    hashed: list[Path] = []
    real = fingerprint.file_sha256

    def counted(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(fingerprint, "file_sha256", counted)
    assert gguf_sha256(gguf) == hashlib.sha256(b"my own model").hexdigest()
    assert gguf_sha256(gguf) == hashlib.sha256(b"my own model").hexdigest()
    assert len(hashed) == 1
    gguf.write_bytes(b"my own model, retrained")
    assert gguf_sha256(gguf) == hashlib.sha256(b"my own model, retrained").hexdigest()
    assert len(hashed) == 2


def test_hosted_models_have_no_fingerprint_and_a_missing_file_none(tmp_path: Path) -> None:
    assert model_fingerprint(ScriptedChatModel()) is None
    assert model_fingerprint(LlamaCppChatModel(tmp_path / "gone.gguf")) is None


def test_a_record_round_trips_through_the_log(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, secrets=[])
    record = _record(_answer(passages=(COSTS, PAY)))
    found = log.find(log.append(record))
    assert found is not None
    assert {k: v for k, v in found.items() if k not in ("id", "time", "prev", "hash")} == (
        json.loads(json.dumps(record))
    )
