"""`kb`: the command line. Results go to stdout, progress and logs to stderr.

Exit codes (EVAL.md): 0 success, 1 a reported error, 2 a usage error (argparse).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypedDict

from assistant.backends.llms.base import usage_text
from assistant.errors import ConfigurationError, IngestError, KbError
from assistant.frontends.cli import docs as cli_docs
from assistant.frontends.cli import feedback as cli_feedback
from assistant.frontends.cli import models as cli_models
from assistant.log_redaction import redact_logs
from assistant.settings import Settings, load_settings
from assistant.telemetry.json_logs import use_log_format
from assistant.wiring import enforce_offline
from index.lock import DEFAULT_WAIT_S

if TYPE_CHECKING:  # the commands import these when they run, to keep `kb --help` fast
    from assistant.answering.models import Answer, AnswerJson, Evidence
    from assistant.answering.pipeline import Assistant
    from assistant.backends.llms.base import Message
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


log = logging.getLogger("kb")


def _at_least(minimum: float, kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a number of `kind`, `minimum` or more (argparse names the option)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below {minimum:g}")
        return value

    return parse


def _question(text: str) -> str:
    """An argparse type: a question with something in it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the question is empty")
    return text


POSITIVE = _at_least(1, int)


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    port = int(POSITIVE(text))
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{text} is above 65535")
    return port


def _add_scope(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--collection",
        action="append",
        type=cli_docs.collection_name,
        metavar="NAME",
        help="search only this collection (repeatable; default: all)",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"kb {version('kb')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "kb (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb", description="Ask questions about your documents, with citations."
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="build or update the index")
    ingest.add_argument("paths", nargs="*", type=Path, help="files and folders (default: corpus/)")
    ingest.add_argument("--rebuild", action="store_true", help="start a new index from scratch")
    ingest.add_argument(
        "--wait",
        type=_at_least(0, float),
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help="how long to wait for another ingest of the same index before giving up "
        f"(default {DEFAULT_WAIT_S:.0f}; 0 refuses at once)",
    )
    ingest.add_argument(
        "--collection",
        type=cli_docs.collection_name,
        metavar="NAME",
        help="put the files read into this collection (default: a folder's .kb-collection, "
        "else the one a file had, else `default`)",
    )
    retrieve = commands.add_parser("retrieve", help="show the passages found for a question")
    retrieve.add_argument(
        "question", type=_question, help="the question, or - to read one per line from stdin"
    )
    retrieve.add_argument("--top-k", type=POSITIVE, default=5, help="passages to show (1 or more)")
    retrieve.add_argument("--json", action="store_true", help="machine-readable output")
    _add_scope(retrieve)
    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument(
        "question", type=_question, help="the question, or - to read JSON Lines from stdin"
    )
    ask.add_argument("--backend", default=None, help=BACKEND_HELP)
    ask.add_argument(
        "--top-k", type=POSITIVE, default=None, help="passages given to the model (1 or more)"
    )
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    _add_scope(ask)
    evaluate = commands.add_parser("eval", help="score retrieval and answers on a question set")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--backend", default=None, help=BACKEND_HELP)
    evaluate.add_argument("--no-answers", action="store_true", help="retrieval metrics only")
    _add_scope(evaluate)
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    doctor = commands.add_parser(
        "doctor", help="check models, index, GPU, offline settings and each backend profile"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument(
        "--no-probe", action="store_true", help="skip the one-token test of each profile"
    )
    doctor.add_argument(
        "--llama",
        action="store_true",
        help="only whether the llama.cpp build runs each local model on this CPU (`make test` "
        "runs this first); exit 1 with the fix when it does not",
    )
    slack = commands.add_parser("slack", help="run the Slack bot (Socket Mode, or --http)")
    slack.add_argument("--http", action="store_true", help="Events API over HTTP instead")
    slack.add_argument("--host", default="127.0.0.1", help="--http: listen address")
    slack.add_argument("--port", type=_port, default=None, help="--http: port (default 3000)")
    cli_models.add_parser(commands)
    cli_docs.add_parser(commands)
    cli_docs.add_watch_parser(commands)
    cli_feedback.add_parser(commands)
    serve = commands.add_parser("serve", help="open the web assistant")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=_port, default=None)
    for sub in commands.choices.values():  # so that a stray option gets its command's usage
        sub.set_defaults(command_parser=sub)
    return parser


BACKEND_HELP = (
    "a profile (local, local-small, openai, anthropic or one you configured), "
    "`hosted` (the configured hosted profile) or `auto` (sensitive questions stay local)"
)


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


def _print_streamed(assistant: Assistant, question: str, history: list[Message]) -> None:
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
    from assistant.wiring import build_assistant

    assistant = build_assistant(settings, args.backend)
    assistant = assistant.with_retriever(_scoped(assistant.retriever, args.collection))
    if args.backend in (None, settings.llm.backend):
        _say_if_slow(settings)
    for question, history in _ask_requests(args):
        if args.json:
            _print_json(assistant.ask(question, history, args.top_k).as_dict())
        else:
            _print_streamed(assistant, question, history)
    return 0


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


def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    """`kb slack`: the Slack bot, over Socket Mode or HTTP events."""
    from assistant.frontends.slack.app import serve

    serve(settings, args.http, args.host, args.port or settings.slack.port)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": cmd_ingest,
    "retrieve": cmd_retrieve,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "doctor": cmd_doctor,
    "models": cli_models.cmd_models,
    "docs": cli_docs.cmd_docs,
    "watch": cli_docs.cmd_watch,
    "feedback": cli_feedback.cmd_feedback,
    "serve": cmd_serve,
    "slack": cmd_slack,
}


ANSWERING_COMMANDS = {"ask", "eval", "serve", "slack"}


def _check_backend(args: argparse.Namespace, settings: Settings) -> None:
    """An unknown --backend is a usage error (exit 2), though the names come from settings; a
    routing setting naming no profile is an error (exit 1) before any command that answers."""
    name = getattr(args, "backend", None)
    if name is None and args.command not in ANSWERING_COMMANDS:
        return  # nothing of this command goes to a backend
    from assistant.backends.profiles import all_profiles, check_profile_names

    profiles = all_profiles(settings)
    known = [*profiles, "hosted", "auto"]
    if name is not None and name not in known:
        args.command_parser.error(f"--backend {name!r}: choose one of {', '.join(known)}")
    if args.command in ANSWERING_COMMANDS:
        check_profile_names(settings, profiles)


def run(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, return the exit code (EVAL.md)."""
    enforce_offline()  # before any command imports Hugging Face or Gradio
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    if not args.verbose:  # pypdf warns about each flaw it repairs; kb reports what it skipped
        logging.getLogger("pypdf").setLevel(logging.ERROR)
    redact_logs()
    try:
        settings = load_settings()
        use_log_format(settings.log.format)
        _check_backend(args, settings)
        return COMMANDS[args.command](args, settings)
    except KbError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    sys.exit(run(argv))


if __name__ == "__main__":
    main()
