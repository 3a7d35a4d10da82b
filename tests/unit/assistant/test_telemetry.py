"""kb's metrics and JSON log lines over real answers and ingest reports: counts read back from
the Prometheus exposition, log lines parsed back from JSON."""

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from assistant.answering.models import Answer
from assistant.log_redaction import RedactingFilter, redact_logs
from assistant.telemetry.json_logs import use_log_format
from assistant.telemetry.metrics import KbMetrics
from index.builder import IngestReport
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_assistant

SECRET = "sk-test-0123456789abcdef"


def samples(metrics: KbMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the scrape by (name, sorted labels)."""
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def made(
    backend: str, refused: bool = False, fell_back: bool = False, usage: bool = True
) -> Answer:
    timings = {"retrieve_s": 0.02, "first_token_s": 0.4 if not refused else None, "total_s": 1.5}
    tokens = {"prompt_tokens": 300, "completion_tokens": 40, "estimated": False, "cost_usd": 0.0}
    return Answer(
        "q",
        "a",
        (),
        (),
        backend,
        "m",
        timings,
        refused=refused,
        fell_back=fell_back,
        usage=tokens if usage else None,  # type: ignore[arg-type]
    )


def test_questions_are_counted_by_backend_and_one_outcome_each() -> None:
    metrics = KbMetrics()
    for answer in (made("local"), made("local"), made("local", refused=True, fell_back=True)):
        metrics.observe_answer(answer)
    metrics.observe_answer(made("openai", fell_back=True))
    metrics.observe_busy("local")
    got = samples(metrics)
    q = "kb_questions_total"
    assert got[q, (("backend", "local"), ("outcome", "answered"))] == 2
    assert got[q, (("backend", "local"), ("outcome", "refused"))] == 1  # refused beats fell_back
    assert got[q, (("backend", "openai"), ("outcome", "fell_back"))] == 1
    assert got[q, (("backend", "local"), ("outcome", "busy"))] == 1


def test_stage_latencies_and_tokens_come_from_the_answer() -> None:
    metrics = KbMetrics()
    metrics.observe_answer(made("local"))
    metrics.observe_answer(made("local", refused=True, usage=False))  # no first token, no usage
    got = samples(metrics)
    h = "kb_answer_seconds"
    assert got[f"{h}_count", (("backend", "local"), ("stage", "retrieve"))] == 2
    assert got[f"{h}_count", (("backend", "local"), ("stage", "first_token"))] == 1
    assert got[f"{h}_sum", (("backend", "local"), ("stage", "total"))] == pytest.approx(3.0)
    assert got[f"{h}_bucket", (("backend", "local"), ("le", "0.5"), ("stage", "first_token"))] == 1
    assert got["kb_tokens_total", (("backend", "local"), ("kind", "prompt"))] == 300
    assert got["kb_tokens_total", (("backend", "local"), ("kind", "completion"))] == 40


def test_a_real_answer_is_observed(retriever: HybridRetriever) -> None:
    metrics = KbMetrics()
    answer = make_assistant(retriever).ask("Is self-hosting cheaper at high volumes?")
    metrics.observe_answer(answer)
    got = samples(metrics)
    assert got["kb_questions_total", (("backend", "fake"), ("outcome", "answered"))] == 1
    assert got["kb_answer_seconds_count", (("backend", "fake"), ("stage", "total"))] == 1
    assert got["kb_tokens_total", (("backend", "fake"), ("kind", "prompt"))] > 0  # estimated


def test_ingests_count_files_by_change_and_set_the_index_size() -> None:
    metrics = KbMetrics()
    metrics.observe_ingest(IngestReport(added=["a", "b"], unchanged=["c"], chunks=7))
    metrics.observe_ingest(
        IngestReport(updated=["a"], removed=["b"], failed=[("d", "bad")], chunks=5)
    )
    got = samples(metrics)
    files = {
        change: got["kb_ingest_files_total", (("change", change),)]
        for change in ("added", "updated", "unchanged", "removed", "failed")
    }
    assert files == {"added": 2, "updated": 1, "unchanged": 1, "removed": 1, "failed": 1}
    assert got["kb_ingests_total", ()] == 2 and got["kb_index_chunks", ()] == 5


def test_a_label_that_is_not_a_profile_name_is_other() -> None:
    metrics = KbMetrics()
    metrics.observe_busy("local; DROP TABLE")
    assert samples(metrics)["kb_questions_total", (("backend", "other"), ("outcome", "busy"))] == 1


def test_every_metric_is_kb_prefixed_with_help() -> None:
    text = generate_latest(KbMetrics().registry).decode()
    families = list(text_string_to_metric_families(text))
    assert families and all(f.name.startswith("kb_") and f.documentation for f in families)


@pytest.fixture
def root_stream() -> Iterator[io.StringIO]:
    """The root logger writing text into a buffer, as an entry point's basicConfig would."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    saved = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.INFO
    yield stream
    root.handlers, root.level = saved


def test_json_lines_carry_the_fields_and_a_traceback(root_stream: io.StringIO) -> None:
    use_log_format("json")
    log = logging.getLogger("kb.test")
    log.info("hello %s", "world")
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        log.exception("it failed")
    lines = [json.loads(line) for line in root_stream.getvalue().splitlines()]
    assert len(lines) == 2  # a multi-line traceback is still one line
    assert lines[0]["message"] == "hello world" and lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "kb.test" and lines[0]["time"].endswith("+00:00")
    assert "exc_info" not in lines[0]
    assert "ValueError: broken" in lines[1]["exc_info"]


def test_text_keeps_the_entry_points_format(root_stream: io.StringIO) -> None:
    use_log_format("text")
    logging.getLogger("kb.test").warning("plain")
    assert root_stream.getvalue() == "WARNING kb.test: plain\n"


def test_json_lines_are_redacted_like_text_ones(
    root_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    redact_logs()
    use_log_format("json")
    log = logging.getLogger("kb.test")
    log.warning("calling http://user:pw@host/v1 with %s", SECRET)
    try:
        raise RuntimeError(f"rejected {SECRET}")
    except RuntimeError:
        log.exception("failed")
    out = root_stream.getvalue()
    assert SECRET not in out and "user:pw" not in out
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["message"] == "calling http://***@host/v1 with ***"
    assert "RuntimeError: rejected ***" in second["exc_info"]
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger().handlers[0].filters)
