"""What the probe's speeds predict for a typical question, the one-sentence notice when the
default model would take over 30 s to start answering, and where kb shows both."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from assistant.backends.llms import llama_probe
from assistant.backends.llms.llama_probe import ProbeResult
from assistant.backends.llms.speed import (
    Forecast,
    ProfileSpeed,
    forecast,
    slow_start_text,
    speed_report,
)
from assistant.backends.model_files import QWEN_05B
from assistant.backends.profiles import slow_start_notice
from assistant.doctor import llama_build
from assistant.settings import LlmSettings, Settings
from index.retriever import HybridRetriever
from tests.unit.assistant.conftest import make_page_parts

THREADS = 2


def _probe(prompt_tok_s: float, gen_tok_s: float) -> ProbeResult:
    return ProbeResult(True, "timed", None, 220, prompt_tok_s, gen_tok_s, 29, 0, THREADS)


def _speed(name: str, first_token_s: float) -> ProfileSpeed:
    return ProfileSpeed(name, name.upper(), Forecast(first_token_s, first_token_s + 10))


def test_first_token_is_the_typical_prompt_read_after_retrieval_and_the_answer_adds_the_reply() -> (
    None
):
    predicted = forecast(_probe(110.0, 6.0))  # 1,100 tokens at 110/s, then 60 tokens at 6/s
    assert predicted is not None
    assert predicted.first_token_s == pytest.approx(10.5)  # + 0.5 s: retrieval and evidence
    assert predicted.answer_s == pytest.approx(20.5)
    assert forecast(None) is None and forecast(_probe(0.0, 6.0)) is None
    assert forecast(ProbeResult(False, "crashed")) is None


def test_the_doctor_fields_round_the_speeds_and_the_waits() -> None:
    assert speed_report(_probe(73.96, 6.12)) == {
        "prompt_tok_s": 74.0,
        "write_tok_s": 6.1,
        "threads": THREADS,
        "typical_first_token_s": 15.4,
        "typical_answer_s": 25.2,
    }


def test_over_30_s_the_notice_names_the_fastest_profile_that_starts_sooner() -> None:
    others = [_speed("gguf:big", 50.0), _speed("local-fast", 9.2), _speed("mid", 20.0)]
    notice = slow_start_text(
        ProfileSpeed("local", "Qwen2.5-Coder-1.5B", Forecast(41.3, 60)), others
    )
    assert notice == (
        "On this machine the default model (local, Qwen2.5-Coder-1.5B) would take about 41 s "
        "to start answering; the faster profile local-fast would take about 9 s: "
        "`kb ask --backend local-fast`, or pick it in the page's backend menu."
    )


def test_at_30_s_or_less_there_is_no_notice() -> None:
    assert slow_start_text(_speed("local", 30.0), [_speed("local-fast", 5.0)]) is None


def test_without_a_faster_probe_remembered_local_fast_is_named_without_a_time() -> None:
    notice = slow_start_text(_speed("local", 45.0), [_speed("gguf:big", 90.0)])
    assert notice is not None and "about 45 s" in notice
    assert notice.endswith(
        "local-fast should start sooner: `kb ask --backend local-fast`, "
        "or pick it in the page's backend menu."
    )
    assert slow_start_text(_speed("local-fast", 45.0), []) == (
        "On this machine the default model (local-fast, LOCAL-FAST) would take about 45 s to "
        "start answering."
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`local` and `local-fast` GGUFs (never loaded) in a temporary model dir, no probe yet."""
    monkeypatch.setattr(llama_probe, "build_identity", lambda: "build-1")
    (tmp_path / "models").mkdir()
    (tmp_path / "local.gguf").write_bytes(b"GGUF")
    (tmp_path / "models" / QWEN_05B.file_name).write_bytes(b"GGUF")
    llm = LlmSettings(
        model_path=tmp_path / "local.gguf",
        model_dir=tmp_path / "models",
        n_gpu_layers=0,
        n_threads=THREADS,
    )
    return Settings(llm=llm)


def _remember(settings: Settings, model: Path, probe: ProbeResult) -> None:
    """A passed probe, remembered under the name the real probe gives it."""
    record = settings.llm.probe_dir / f"{llama_probe.probe_key(model, 0, THREADS)}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(asdict(probe)))


def test_the_notice_reads_only_remembered_probes(settings: Settings) -> None:
    assert slow_start_notice(settings) is None  # nothing remembered: nothing said, nothing run
    assert settings.llm.model_path is not None
    _remember(settings, settings.llm.model_path, _probe(30.0, 4.0))  # 37.2 s to the first word
    notice = slow_start_notice(settings)
    assert notice is not None and "(local, Qwen2.5-Coder-1.5B) would take about 37 s" in notice
    assert "should start sooner" in notice  # local-fast's probe is not remembered yet
    _remember(settings, settings.llm.model_dir / QWEN_05B.file_name, _probe(60.0, 15.0))
    assert "local-fast would take about 19 s" in (slow_start_notice(settings) or "")


def test_no_notice_when_the_default_starts_soon_enough_or_is_not_local(
    settings: Settings,
) -> None:
    assert settings.llm.model_path is not None
    _remember(settings, settings.llm.model_path, _probe(80.0, 6.0))  # 14.2 s
    assert slow_start_notice(settings) is None
    _remember(settings, settings.llm.model_path, _probe(10.0, 4.0))
    hosted = settings.model_copy(
        update={"llm": settings.llm.model_copy(update={"backend": "openai"})}
    )
    assert slow_start_notice(hosted) is None


def test_doctor_reports_speeds_threads_and_the_predicted_waits(settings: Settings) -> None:
    assert settings.llm.model_path is not None
    _remember(settings, settings.llm.model_path, _probe(10.0, 4.0))
    info = llama_build(settings, probe=False)
    local = info["probe"]["local"]
    assert local["prompt_tok_s"] == 10.0 and local["write_tok_s"] == 4.0
    assert local["threads"] == THREADS
    assert local["typical_first_token_s"] == 110.5 and local["typical_answer_s"] == 125.5
    assert info["probe"]["local-fast"]["ok"] is None  # not remembered, and --no-probe
    assert "1100 prompt tokens" in info["typical_question"]
    assert info["slow_start"].startswith("On this machine the default model (local")


def test_the_page_shows_the_notice_once_under_the_status_line(
    retriever: HybridRetriever, tmp_path: Path
) -> None:
    from assistant.frontends.web import page as web

    parts = make_page_parts(retriever, tmp_path / "uploads")
    page = web.build_web_ui(parts, "On this machine the default model would take about 41 s.")
    notices = [b for b in page.blocks.values() if getattr(b, "elem_id", None) == "kb-notice"]
    assert len(notices) == 1 and "about 41 s" in notices[0].value
    plain = web.build_web_ui(parts)
    assert "kb-notice" not in {getattr(b, "elem_id", None) for b in plain.blocks.values()}
