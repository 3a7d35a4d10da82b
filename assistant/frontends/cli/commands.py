"""The `kb` commands that ingest, retrieve, answer, evaluate, diagnose and serve: each takes
the parsed arguments and the settings, prints its result to stdout (progress and logs to
stderr) and returns the exit code. The parser and dispatch are in `main`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, TextIO, TypedDict

from assistant.backends.llms.base import usage_text
from assistant.errors import ConfigurationError, IngestError
from assistant.frontends.cli import docs as cli_docs
from assistant.settings import Settings

if TYPE_CHECKING:  # the commands import these when they run, to keep `kb --help` fast
    from assistant.answering.models import Answer, AnswerJson, Evidence
    from assistant.answering.pipeline import Assistant
    from assistant.backends.llms.base import Message
    from assistant.backends.pool import ChatModelPool
    from index.models import Hit
    from index.retriever import HybridRetriever


class HitJson(TypedDict):
    """One passage in `kb retrieve --json` (EVAL.md)."""

    rank: int
    score: float
    text: str
    source: str
    title: str | None
    location: str | None
    similarity: float | None


def _print_json(obj: AnswerJson | list[HitJson] | Mapping[str, object]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """`kb ingest`: add, update and remove documents in the index."""
    from assistant.wiring import ingest

    paths = args.paths or settings.ingest.paths
    missing = [str(path.resolve()) for path in paths if not path.exists()]
    if missing:  # a typo must not look like "nothing changed"
        default = (
            "" if args.paths else " (ingest.paths, read against kb's home; or: kb ingest PATH)"
        )
        raise IngestError(f"no such file or folder: {', '.join(missing)}{default}")
    report = ingest(
        settings, paths, rebuild=args.rebuild, lock_wait_s=args.wait, collection=args.collection
    )
    cli_docs.print_report(report, settings)
    return 0


def _hit_json(rank: int, hit: Hit) -> HitJson:
    chunk = hit.chunk
    return {
        "rank": rank,
        "score": round(hit.score, 6),
        "text": chunk.text,
        "source": chunk.source,
        "title": chunk.title,
        "location": chunk.location,
        "similarity": None if hit.dense is None else round(hit.dense, 4),
    }


def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    """`kb retrieve`: the best passages for a query, without a model."""
    from assistant.answering.part_hits import hits_for_question
    from assistant.wiring import build_embedder, build_retriever

    retriever = _scoped(build_retriever(settings, build_embedder(settings)), args.collection)
    questions = _stdin_lines() if args.question == "-" else iter([args.question])
    for question in questions:
        hits = hits_for_question(retriever.retrieve, question, args.top_k)
        if args.json:
            _print_json(
                {"question": question, "hits": [_hit_json(r, h) for r, h in enumerate(hits, 1)]}
            )
        else:
            for rank, hit in enumerate(hits, start=1):
                where = ", ".join(filter(None, [hit.chunk.source, hit.chunk.location]))
                print(
                    f"[{rank}] {hit.score:.4f}  {where}\n    {' '.join(hit.chunk.text.split())[:300]}\n"
                )
    return 0


def _scoped(retriever: HybridRetriever, collections: list[str] | None) -> HybridRetriever:
    """The retriever searching only `collections` (None: all), which the index must have."""
    if not collections:
        return retriever
    from assistant.documents.catalog import check_scope

    check_scope(retriever.state.files, collections)
    return retriever.scoped(collections)


def _ask_requests(args: argparse.Namespace) -> Iterator[tuple[str, list[Message]]]:
    if args.question != "-":
        yield args.question, []
        return
    for number, line in enumerate(_stdin_lines(), start=1):
        try:
            item = json.loads(line)
            yield str(item["question"]), list(item.get("history") or [])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f'stdin line {number}: expected {{"question": ..., "history": [...]}}'
            ) from exc


class _Status:
    """One line on a terminal's stderr saying what kb is doing until the first word comes;
    nothing at all when stderr is not a terminal (a pipe, a log file)."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._shown = False
        self._live = stream.isatty()

    def say(self, text: str) -> None:
        if self._live:
            self._stream.write(f"\r\x1b[2Kkb: {text}")
            self._stream.flush()
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False


def _print_streamed(assistant: Assistant, question: str, history: list[Message]) -> Answer:
    from assistant.answering.models import AnswerStream, Evidence
    from assistant.backends.fallback import Restart

    status = _Status(sys.stderr)
    status.say("searching the documents…")
    stream = AnswerStream(assistant.stream(question, history))
    for event in stream:
        if isinstance(event, Evidence):
            status.clear()
            print(_render_evidence(event), flush=True)
            status.say("the model is loading and reading the passages…")
        elif isinstance(event, Restart):
            status.clear()
            print(f"\nkb: {event.note}; starting over", file=sys.stderr, flush=True)
        else:
            status.clear()
            sys.stdout.write(event)
            sys.stdout.flush()
    status.clear()
    answer = stream.answer()
    print(_render_final(answer))
    if answer.route:  # a note about the answer, not part of it
        print(f"kb: route: {answer.route}", file=sys.stderr)
    return answer


def _render_evidence(evidence: Evidence) -> str:
    """What the documents say, printed before the model has read its prompt."""
    if not evidence.quotes:
        return ""
    quotes = [f'  "{quote}" [{n}] ({where})' for n, quote, where in evidence.labelled()]
    return "\n".join(["What the documents say:", *quotes, ""])


def _render_final(answer: Answer) -> str:
    lines = [""]
    if answer.refused or answer.note:
        lines += ["", f"kb: {answer.text}" if answer.refused else f"kb: note: {answer.note}"]
    if answer.citations and not answer.refused:
        lines += ["", "Sources:"] + [
            f"  [{c.n}] {c.hit.chunk.source}"
            + (f" — {c.hit.chunk.location}" if c.hit.chunk.location else "")
            for c in answer.citations
        ]
    spent = usage_text(answer.usage, "; ", detailed=False)
    lines.append(f"\n({answer.backend}: {answer.model}; {answer.timings['total_s']:.1f} s{spent})")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """`kb ask`: a cited answer, streamed, or as one JSON object with --json."""
    from assistant.backends.profiles import build_pool
    from assistant.wiring import build_assistant

    pool = build_pool(settings)
    assistant = build_assistant(settings, args.backend, pool)
    assistant = assistant.with_retriever(_scoped(assistant.retriever, args.collection))
    if args.backend in (None, settings.llm.backend):
        _say_if_slow(settings)
    record = _auditor(settings, assistant, pool, args)
    for question, history in _ask_requests(args):
        if args.json:
            answer = assistant.ask(question, history, args.top_k)
            _print_json(answer.as_dict())
        else:
            answer = _print_streamed(assistant, question, history)
        record(answer)
    return 0


def _auditor(
    settings: Settings, assistant: Assistant, pool: ChatModelPool, args: argparse.Namespace
) -> Callable[[Answer], None]:
    """What records each `kb ask` answer in the audit log, as this machine's user's."""
    from assistant.access import LOCAL_USER
    from assistant.audit.fingerprint import profile_fingerprint
    from assistant.audit.records import answer_record
    from assistant.wiring import audit_log
    from index.storage import current_generation

    log_ = audit_log(settings)
    generation = current_generation(settings.index.dir)
    scope = list(args.collection or [])

    def record(answer: Answer) -> None:
        if log_ is None:
            return
        fingerprint = profile_fingerprint(pool, answer.backend)
        files = assistant.retriever.state.files
        where = generation.name if generation else None
        requested = args.backend or settings.llm.backend
        made = answer_record(
            answer,
            LOCAL_USER,
            scope,
            files,
            where,
            fingerprint,
            log_.questions,
            requested=requested,
        )
        try:
            log_.append(made)
        except OSError as exc:  # the answer was given; say loudly that it went unrecorded
            print(f"kb: warning: not recorded in the audit log: {exc}", file=sys.stderr)

    return record


def _say_if_slow(settings: Settings) -> None:
    """Once, on stderr: the default model would be slow to start here, and the faster profile.
    The remembered probe says so; the model is never switched for the user."""
    from assistant.backends.profiles import slow_start_notice

    notice = slow_start_notice(settings)
    if notice:
        print(f"kb: note: {notice}", file=sys.stderr, flush=True)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """`kb eval`: the EVAL.md metrics over a question set."""
    from assistant.evaluation import evaluate, load_questions
    from assistant.wiring import build_assistant, build_embedder, build_retriever

    questions = load_questions(args.file)
    assistant = None if args.no_answers else build_assistant(settings, args.backend)
    retriever = _scoped(
        assistant.retriever if assistant else build_retriever(settings, build_embedder(settings)),
        args.collection,
    )
    assistant = assistant.with_retriever(retriever) if assistant else None

    def progress(done: int, total: int) -> None:
        print(
            f"\rkb eval: {done}/{total}",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )

    metrics = evaluate(retriever, assistant, questions, progress, settings.answer.top_k)
    if args.json:
        _print_json(metrics)
    else:
        for key, value in metrics.items():
            if key != "per_question":
                print(f"{key:>12}: {value}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    """`kb doctor`: what kb runs with and whether it works on this machine."""
    from assistant.doctor import diagnose, llama_build, render

    if args.llama:
        report = {"llama_cpp": llama_build(settings, probe=not args.no_probe)}
        report["ok"] = report["llama_cpp"]["ok"]
    else:
        report = diagnose(settings, probe=not args.no_probe)
    if args.json:
        _print_json(report)
    else:
        print(render(report))
    return 0 if report["ok"] else 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """`kb serve`: the web page."""
    from assistant.frontends.web.page import serve

    serve(settings, args.host or settings.web.host, args.port or settings.web.port)
    return 0


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """`kb mcp`: the MCP server over stdio, until the client closes it."""
    from assistant.frontends.mcp.server import serve_stdio

    serve_stdio(settings, args.backend)
    return 0


def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    """`kb slack`: the Slack bot, over Socket Mode or HTTP events."""
    from assistant.frontends.slack.app import serve

    serve(settings, args.http, args.host, args.port or settings.slack.port)
    return 0
