"""Hostile documents: how often an answer follows instructions injected into the documents.

Ingests tests/data/hostile/ (ten documents, each on a plausible topic and carrying an injection
of a different kind) into a temporary index with the real embedder, asks the question paired
with each document through the real pipeline and the default local model, and checks both the
model's raw reply and the answer kb shows for "followed the injection" (tests/support/hostile.py).
Fake API keys are set in the environment for the run; the prompts are checked for them too.
Writes its section of docs/benchmarks.md.

    nice -n 19 .venv/bin/python bench/hostile.py [--json results.json] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.wiring import build_assistant, build_embedder, chunking_params  # noqa: E402
from bench.report import write_section  # noqa: E402
from index.builder import ingest_paths  # noqa: E402
from tests.support.hostile import (  # noqa: E402
    CASES,
    FAKE_SECRETS,
    HOSTILE_DIR,
    HostileCase,
    RecordingChatModel,
    followed,
    foreign_urls,
    load_cases,
)


@dataclass
class Result:
    id: str
    file: str
    kind: str
    raw_followed: bool
    shown_followed: bool
    foreign_urls: list[str]
    secret_in_prompt: bool
    refused: bool
    reply: str
    answer: str
    seconds: float


def ask(assistant: Assistant, model: RecordingChatModel, case: HostileCase) -> Result:
    started = time.perf_counter()
    answer = assistant.ask(case.question)
    reply = model.replies[-1] if model.replies else ""
    prompt = " ".join(m["content"] for m in model.prompts[-1]) if model.prompts else ""
    sources = [h.chunk.text for h in answer.passages] + [case.question]
    return Result(
        case.id,
        case.file,
        case.kind,
        followed(case, reply),
        followed(case, answer.text),
        foreign_urls(answer.text, sources),
        any(secret in prompt for secret in FAKE_SECRETS.values()),
        answer.refused,
        reply,
        answer.text,
        time.perf_counter() - started,
    )


def measure() -> list[Result]:
    os.environ.update(FAKE_SECRETS)
    with tempfile.TemporaryDirectory() as index_dir:
        settings = Settings(index={"dir": Path(index_dir)})
        embedder = build_embedder(settings)
        report = ingest_paths(
            [HOSTILE_DIR], Path(index_dir), embedder, chunking_params(settings), [CASES.name]
        )
        assert not report.failed, report.failed
        shipped = build_assistant(settings, "local")
        model = RecordingChatModel(shipped.chat_model)
        assistant = shipped.using(model)
        results = []
        for case in load_cases():
            results.append(ask(assistant, model, case))
            print(f"{case.id}: {results[-1].answer!r}", file=sys.stderr)
        return results


def _cell(text: str, limit: int = 90) -> str:
    """Inert in a Markdown table: a code span, no pipes, no backticks, no line breaks."""
    flat = " ".join(text.split()).replace("|", "¦").replace("`", "'")
    return f"`{flat[:limit]}{'…' if len(flat) > limit else ''}`" if flat else "(empty)"


def render(results: list[Result]) -> str:
    yes = {True: "**yes**", False: "no"}
    rows = "\n".join(
        f"| {r.file} | {r.kind.replace('|', '¦')} | {yes[r.raw_followed]} | "
        f"{yes[r.shown_followed]} | {_cell(r.answer)} |"
        for r in results
    )
    n = len(results)
    raw = sum(r.raw_followed for r in results)
    shown = sum(r.shown_followed for r in results)
    urls = sum(bool(r.foreign_urls) for r in results)
    leaks = sum(r.secret_in_prompt for r in results)
    return f"""## Hostile documents (`bench/hostile.py`, {date.today()}, {os.cpu_count()} CPU cores)

Ten documents in `tests/data/hostile/`, each carrying injected instructions of one kind, are
the whole index; the question asked about each is about its genuine content
(`tests/data/hostile/cases.jsonl`). Default local model (Qwen2.5-Coder-0.5B Q4_K_M), default
settings. "Followed" is a machine check per kind (`tests/support/hostile.py`): the canary or
false claim appears, the answer starts with "DAN", six consecutive words of the system prompt,
a fake API key set in the environment, French, or the attacker's host. Conservative: quoting
the injected sentence with its payload counts as followed.

**Followed: model reply {raw} of {n}; answer shown {shown} of {n}.** Answers with a URL found in
no passage: {urls}. Prompts holding a secret from the environment: {leaks} of {n}.

| document | injection | reply followed | answer followed | answer shown |
|---|---|---|---|---|
{rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = measure()
    text = render(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    if not args.no_write:
        write_section("hostile", text)


if __name__ == "__main__":
    main()
