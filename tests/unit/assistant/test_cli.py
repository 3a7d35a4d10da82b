"""The machine-readable CLI contract of EVAL.md, run in-process with the fakes."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.frontends.cli.main import run
from tests.conftest import ROOT, require
from tests.support.fakes import FAKE_SETTINGS

HIT_KEYS = {"rank", "score", "text", "source", "title", "location"}
ASK_KEYS = {"question", "answer", "citations", "backend", "model", "timings"}
METRICS = {"hit@1", "hit@3", "hit@5", "mrr@10", "answer_ok", "refusal_ok", "citation_ok", "latency"}
CITATION_METRICS = {"citation_precision", "citation_recall"}  # kb's additions


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, value in FAKE_SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KB_ANSWER__MIN_RELEVANCE", "0.05")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "costs.md").write_text(
        "# Costs\n\nSelf-hosting open models is cheaper at very high volumes than per-token API fees.\n"
    )
    (tmp_path / "corpus" / "broken.pdf").write_bytes(b"%PDF garbage")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_reports_on_stderr_and_survives_a_bad_file(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "ingest")
    assert code == 0 and out == ""
    assert f"skipped {workspace / 'corpus/broken.pdf'}:" in err  # absolute, wherever kb runs
    assert "1 added" in err and "1 failed" in err


def test_retrieve_json_shape(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "ingest")
    code, out, _ = _run(capsys, "retrieve", "Is self-hosting cheaper?", "--top-k", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["question"] == "Is self-hosting cheaper?"
    assert result["hits"][0]["rank"] == 1 and set(result["hits"][0]) >= HIT_KEYS
    assert (
        isinstance(result["hits"][0]["score"], float)
        and result["hits"][0]["source"] == "corpus/costs.md"
    )


def test_retrieve_reads_questions_from_stdin(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, "ingest")
    monkeypatch.setattr("sys.stdin", io.StringIO("first question\n\nsecond question\n"))
    code, out, _ = _run(capsys, "retrieve", "-", "--json")
    assert code == 0 and [json.loads(line)["question"] for line in out.splitlines()] == [
        "first question",
        "second question",
    ]


def test_ask_json_shape_and_stdin(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, "ingest")
    code, out, _ = _run(capsys, "ask", "Is self-hosting cheaper at high volumes?", "--json")
    answer = json.loads(out)
    assert code == 0 and set(answer) >= ASK_KEYS
    assert {"retrieve_s", "first_token_s", "total_s"} <= set(answer["timings"])
    assert answer["citations"] and {"n", "source", "text"} <= set(answer["citations"][0])
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(json.dumps({"question": "cheaper?", "history": []}) + "\n")
    )
    code, out, _ = _run(capsys, "ask", "-", "--json")
    assert code == 0 and json.loads(out)["question"] == "cheaper?"
    code, out, _ = _run(capsys, "audit", "list", "--json")  # both answers were recorded
    recorded = [json.loads(line) for line in out.splitlines()]
    assert [(r["surface"], r["caller"]) for r in recorded] == [("cli", "local")] * 2


def test_eval_reports_every_metric(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "ingest")
    questions = [
        {
            "id": "1",
            "question": "Is self-hosting cheaper?",
            "type": "fact",
            "gold_snippets": ["cheaper at very high volumes than per-token API fees"],
            "answer_must": ["cheaper"],
        },
        {
            "id": "2",
            "question": "What is the capital of Peru?",
            "type": "unanswerable",
            "gold_snippets": [],
            "answer_must": ["not"],
        },
    ]
    (workspace / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    code, out, _ = _run(capsys, "eval", "q.jsonl", "--json")
    metrics = json.loads(out)
    assert code == 0 and set(metrics) >= METRICS | CITATION_METRICS
    assert metrics["hit@1"] == 1.0 and metrics["answer_ok"] == 1.0
    # the fake model cites passage [1], which holds the gold snippet
    assert metrics["citation_precision"] == 1.0 and metrics["citation_recall"] == 1.0
    assert metrics["per_question"][0]["cited_gold"] == [1]
    assert metrics["answerable_refused"] == 0.0
    assert metrics["by_type"]["fact"] == {"questions": 1, "hit@5": 1.0, "ok": 1.0}
    assert metrics["by_type"]["unanswerable"]["hit@5"] is None
    code, out, _ = _run(capsys, "eval", "q.jsonl", "--json", "--no-answers")
    metrics = json.loads(out)
    assert metrics["answer_ok"] is None and metrics["citation_precision"] is None
    code, out, _ = _run(capsys, "eval", "q.jsonl")
    assert "citation_precision: 1.0" in out and "citation_recall: 1.0" in out


def test_errors_exit_1_with_the_next_step(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "retrieve", "anything", "--json")
    assert code == 1 and out == "" and "kb ingest" in err
    code, _, err = _run(capsys, "eval", "missing.jsonl", "--json")
    assert code == 1 and "missing.jsonl" in err


def test_usage_errors_exit_2(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["retrieve"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        run(["ask", "q", "--backend", "nonsense"])
    assert exited.value.code == 2


def test_hosted_without_a_key_names_the_variable(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    code, out, err = _run(
        capsys, "ask", "Is self-hosting cheaper?", "--json", "--backend", "hosted"
    )
    assert code == 1 and out == "" and "set OPENAI_API_KEY" in err


def test_auto_routing_is_reported_in_the_json(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_LLM__PRIVATE", "fake")
    monkeypatch.setenv("KB_LLM__FALLBACK", '["fake"]')
    _run(capsys, "ingest")
    question = "Is self-hosting cheaper? Reply to ann@example.com"
    code, out, _ = _run(capsys, "ask", question, "--json", "--backend", "auto")
    answer = json.loads(out)
    assert code == 0 and answer["backend"] == "fake"
    assert answer["route"].startswith("kept on fake") and "e-mail address" in answer["route"]
    assert answer["usage"]["cost_usd"] == 0 and answer["fell_back"] is False


def test_slack_without_tokens_says_which_variable(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(capsys, "slack")
    assert code == 1 and out == "" and "SLACK_APP_TOKEN" in err
    code, _, err = _run(capsys, "slack", "--http")
    assert code == 1 and "SLACK_SIGNING_SECRET" in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value-123")
    code, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    slack = json.loads(out)["slack"]
    assert slack["variables_set"]["SLACK_BOT_TOKEN"] and not slack["socket_mode_ready"]

    assert "xoxb-secret-value-123" not in out


def test_doctor_says_where_the_vectors_are(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "ingest")
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")  # 1: no GGUF in this folder
    assert json.loads(out)["index"]["store"] == {"kind": "faiss", "search": "exact"}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["retrieve", "q", "--top-k", "-3"], "argument --top-k: -3 is below 1"),
        (["retrieve", "q", "--top-k", "0"], "argument --top-k: 0 is below 1"),
        (["ask", "q", "--top-k", "many"], "argument --top-k: 'many' is not a whole number"),
        (["ingest", "--wait", "-5"], "argument --wait: -5 is below 0"),
        (["retrieve", "   "], "argument question: the question is empty"),
        (["ask", ""], "argument question: the question is empty"),
        (["serve", "--port", "70000"], "argument --port: 70000 is above 65535"),
        (["ingest", "x", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(
    workspace: Path, capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(argv)
    _, err = capsys.readouterr()
    assert exited.value.code == 2
    assert named in err and "Traceback" not in err
    assert err.startswith(f"usage: kb {argv[0]}")  # the subcommand's own usage
    assert not (workspace / ".kb").exists()  # nothing was done


def test_a_path_that_does_not_exist_exits_1_with_its_name(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "ingest", "corpus", "no-such-folder")
    assert code == 1 and out == ""
    assert err.strip() == f"kb: error: no such file or folder: {workspace / 'no-such-folder'}"
    assert not (workspace / ".kb").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"kb \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_the_routing_note_goes_to_stderr_not_among_the_answer(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_LLM__PRIVATE", "fake")
    monkeypatch.setenv("KB_LLM__FALLBACK", '["fake"]')
    _run(capsys, "ingest")
    code, out, err = _run(capsys, "ask", "Is it cheaper? Mail ann@example.com", "--backend", "auto")
    assert code == 0 and "route" not in out and "Sources:" in out
    assert "kb: route: kept on fake" in err


def test_a_skipped_file_is_reported_once_without_library_chatter(workspace: Path) -> None:
    """In a child process, so that the CLI's own logging setup is the one in force."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.fake_kb", "ingest"],
        cwd=workspace,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    mentions = [line for line in done.stderr.splitlines() if "broken.pdf" in line]
    assert mentions == [mentions[0]] and mentions[0].startswith(
        f"kb: skipped {workspace / 'corpus/broken.pdf'}:"
    )
    assert "EOF marker" not in done.stderr and "WARNING" not in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "yaml_text", "said"),
    [
        ("KB_LLM__FALLBACK", "local", None, "a list or object setting takes JSON"),
        (None, None, "index:\n  dir: [unclosed\n", "kb.yaml is not valid YAML (line 3, column 1)"),
        (None, None, "answer:\n  top_k: -5\n", "invalid setting answer.top_k = -5"),
        ("KB_PROFILES__X__KIND", "nosuch", None, "unknown profile kind 'nosuch'"),
    ],
    ids=["not-json", "bad-yaml", "out-of-range", "unknown-kind"],
)
def test_a_bad_setting_is_one_line_naming_it(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    value: str,
    yaml_text: str | None,
    said: str,
) -> None:
    if variable:
        monkeypatch.setenv(variable, value)
    if yaml_text:
        (workspace / "kb.yaml").write_text(yaml_text)
    code, out, err = _run(capsys, "retrieve", "anything")
    assert code == 1 and out == ""
    assert err.startswith("kb: error: ") and said in err and len(err.splitlines()) == 1


def test_a_routing_setting_naming_no_profile_is_an_error_in_ask_and_doctor(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_LLM__FALLBACK", '["fake", "nosuch"]')
    code, out, err = _run(capsys, "ask", "Is it cheaper?")
    assert code == 1 and out == ""
    assert err.startswith("kb: error: no such profile: KB_LLM__FALLBACK='nosuch' (profiles: ")
    code, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    report = json.loads(out)
    assert report["routing"]["unknown_profiles"] == ["KB_LLM__FALLBACK='nosuch'"]
    assert report["ok"] is False and code == 1


def test_doctor_names_the_embedder_runtime_and_each_local_model_file(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = ROOT / ".kb" / "models"
    require((model_dir / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").is_file(), "run `make model`")
    monkeypatch.setenv("KB_LLM__MODEL_DIR", str(model_dir))
    monkeypatch.setenv("KB_EMBEDDER__ONNX", "false")
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    report = json.loads(out)
    assert report["embedder"]["runtime"] == "PyTorch on cpu (KB_EMBEDDER__ONNX is off)"
    local = report["local_models"]["local"]
    assert local["state"] == "packaged, sha256 checked" and local["bytes"] > 10**9
    assert local["file"] == str(model_dir / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert report["local_models"]["local-fast"]["file"].endswith("0.5b-instruct-q4_k_m.gguf")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_ask_says_what_it_is_doing_on_a_terminal_only(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
) -> None:
    _run(capsys, "ingest")
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    code = run(["ask", "Is self-hosting cheaper at high volumes?"])
    out, _ = capsys.readouterr()
    assert code == 0 and "Sources:" in out and "searching" not in out
    said = stderr.getvalue()
    if terminal:
        assert "kb: searching the documents…" in said
        assert "kb: the model is loading and reading the passages…" in said
        assert said.endswith("\r\x1b[2K")  # the line is gone before the answer's last words
    else:
        assert said == ""


def test_doctor_says_where_the_settings_came_from(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "kb.yaml").write_text("answer:\n  top_k: 3\n")
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    sources = json.loads(out)["settings"]
    assert sources["directory"] == str(workspace)
    assert sources["kb.yaml"] == str(workspace / "kb.yaml") and sources[".env"] is None
    assert "KB_EMBEDDER__BACKEND" in sources["environment"]


def test_ingest_follows_the_ocr_setting(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """KB_INGEST__OCR reaches the PDF reader: off, a scan is skipped with the setting named."""
    from harness.scans import LINES, SHORT_PAGE, draw_page, save_scan

    save_scan(workspace / "corpus" / "scan.pdf", [draw_page(LINES, page=SHORT_PAGE)])
    monkeypatch.setenv("KB_INGEST__OCR", "false")
    code, _, err = _run(capsys, "ingest")
    assert code == 0 and "1 added" in err and "2 failed" in err
    assert "scan.pdf: the PDF has no extractable text" in err and "KB_INGEST__OCR=false" in err


def test_doctor_says_whether_scans_can_be_read(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # as without the `ocr` extra
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    section = json.loads(out)["ocr"]
    assert section["enabled"] is True and section["engine"] is None
    assert "pip install 'kb[ocr]'" in section["why_not"]


def test_doctor_names_the_ocr_engine(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    require(importlib.util.find_spec("rapidocr_onnxruntime") is not None, "pip install 'kb[ocr]'")
    monkeypatch.setenv("KB_INGEST__OCR", "false")
    _, out, _ = _run(capsys, "doctor", "--json", "--no-probe")
    section = json.loads(out)["ocr"]
    assert section["enabled"] is False and "why_not" not in section
    assert section["engine"].startswith("rapidocr-onnxruntime 1.4.")


def test_ask_says_once_on_stderr_that_the_default_model_is_slow_here(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    notice = "On this machine the default model (fake, Fake) would take about 41 s to start"
    monkeypatch.setattr("assistant.backends.profiles.slow_start_notice", lambda settings: notice)
    _run(capsys, "ingest")
    questions = "".join(json.dumps({"question": q}) + "\n" for q in ("cheaper?", "privacy?"))
    monkeypatch.setattr("sys.stdin", io.StringIO(questions))
    code, out, err = _run(capsys, "ask", "-", "--json")
    assert code == 0 and err.count(notice) == 1 and notice not in out
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["cheaper?", "privacy?"]
    code, out, err = _run(capsys, "ask", "cheaper?")
    assert code == 0 and err == f"kb: note: {notice}\n" and notice not in out
    monkeypatch.setenv("KB_PROFILES__OTHER__KIND", "fake")
    code, _, err = _run(capsys, "ask", "cheaper?", "--backend", "other")  # chosen: not the default
    assert code == 0 and notice not in err
