#!/usr/bin/env python3
"""Validate eval/dev.jsonl against the format in EVAL.md and the cleaned corpus.

Checks, for every line:
  * valid JSON object with the required fields and the right types;
  * unique ``id``; ``type`` is one of the six allowed types;
  * ``history`` (list of {role, content}) present and non-empty only for followup;
  * answerable questions: 1+ gold snippets of 8 to 20 words, 1+ gold files that
    exist in the corpus, 1-3 answer_must terms; every snippet is found
    (whitespace collapsed, case-insensitive) in the cleaned text that
    ``ingest.readers.read_document`` produces for one of its gold files;
  * unanswerable questions: no snippets, no gold files, answer_must == ["not"].

Prints the count per type and exits 1 on any problem.

Usage: python3 eval/check_dev.py [PATH_TO_JSONL] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.readers import read_document  # noqa: E402

TYPES = ("fact", "number", "compare", "multi", "unanswerable", "followup")
REQUIRED = {
    "id": str,
    "question": str,
    "type": str,
    "gold_snippets": list,
    "gold_files": list,
    "answer_must": list,
    "answer": str,
}
ALLOWED = set(REQUIRED) | {"history"}
ROLES = {"user", "assistant"}
MIN_WORDS, MAX_WORDS = 8, 20
MIN_TYPE_COUNTS = {"unanswerable": 4, "followup": 4}
MIN_TOTAL = 36


def norm(text: str) -> str:
    """Collapse whitespace runs to one space and lowercase (the hit rule)."""
    return re.sub(r"\s+", " ", text).strip().lower()


class Corpus:
    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, str | None] = {}

    def exists(self, name: str) -> bool:
        return (self.folder / name).is_file() and name != "SOURCES.md"

    def text(self, name: str) -> str | None:
        if name not in self._cache:
            try:
                self._cache[name] = norm(read_document(self.folder / name).text)
            except Exception as exc:  # report, keep going
                print(f"error: cannot read corpus file {name}: {exc}", file=sys.stderr)
                self._cache[name] = None
        return self._cache[name]


def check_item(d: dict, where: str, corpus: Corpus, problems: list[str]) -> None:
    def bad(msg: str) -> None:
        problems.append(f"{where}: {msg}")

    for key, typ in REQUIRED.items():
        if key not in d:
            bad(f"missing field {key!r}")
        elif not isinstance(d[key], typ):
            bad(f"field {key!r} must be {typ.__name__}")
    for key in d:
        if key not in ALLOWED:
            bad(f"unknown field {key!r}")
    if any(key not in d or not isinstance(d[key], REQUIRED[key]) for key in REQUIRED):
        return

    for key in ("id", "question", "answer"):
        if not d[key].strip():
            bad(f"field {key!r} is empty")
    qtype = d["type"]
    if qtype not in TYPES:
        bad(f"type {qtype!r} not one of {TYPES}")

    # history
    hist = d.get("history")
    if qtype == "followup":
        if not isinstance(hist, list) or not hist:
            bad("followup needs a non-empty history list")
        else:
            for i, turn in enumerate(hist):
                if (
                    not isinstance(turn, dict)
                    or set(turn) != {"role", "content"}
                    or turn.get("role") not in ROLES
                    or not isinstance(turn.get("content"), str)
                    or not turn["content"].strip()
                ):
                    bad(f"history[{i}] must be {{role: user|assistant, content: non-empty str}}")
            if isinstance(hist[0], dict) and hist[0].get("role") != "user":
                bad("history must start with a user turn")
            if isinstance(hist[-1], dict) and hist[-1].get("role") != "assistant":
                bad("history must end with an assistant turn")
    elif hist not in (None, []):
        bad("history is only for followup questions")

    snippets, files, must = d["gold_snippets"], d["gold_files"], d["answer_must"]
    for name, lst in (("gold_snippets", snippets), ("gold_files", files), ("answer_must", must)):
        if not all(isinstance(x, str) and x.strip() for x in lst):
            bad(f"{name} must hold non-empty strings")
            return

    if qtype == "unanswerable":
        if snippets:
            bad("unanswerable must have no gold_snippets")
        if files:
            bad("unanswerable must have no gold_files")
        if must != ["not"]:
            bad('unanswerable answer_must must be exactly ["not"]')
        return

    if not snippets:
        bad("answerable question needs at least one gold snippet")
    if not files:
        bad("answerable question needs at least one gold file")
    if not 1 <= len(must) <= 3:
        bad("answer_must should hold 1 to 3 terms")
    if len(set(map(str.lower, snippets))) != len(snippets):
        bad("duplicate gold snippets")

    texts = {}
    for f in files:
        if not corpus.exists(f):
            bad(f"gold file {f!r} not in corpus")
        else:
            texts[f] = corpus.text(f)

    for s in snippets:
        n = len(s.split())
        if not MIN_WORDS <= n <= MAX_WORDS:
            bad(f"snippet has {n} words (want {MIN_WORDS}-{MAX_WORDS}): {s!r}")
        ns = norm(s)
        if not any(t is not None and ns in t for t in texts.values()):
            bad(f"snippet not found in cleaned text of {files}: {s!r}")

    # answer_must terms should appear in the reference answer
    ans = d["answer"].lower()
    for term in must:
        if term.lower() not in ans:
            bad(f"answer_must term {term!r} not in the reference answer")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(ROOT / "eval" / "dev.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    args = ap.parse_args(argv)

    corpus = Corpus(Path(args.corpus))
    problems: list[str] = []
    counts: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    questions: Counter[str] = Counter()

    try:
        lines = Path(args.path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"error: cannot read {args.path}: {exc}", file=sys.stderr)
        return 1

    for lineno, line in enumerate(lines, 1):
        where = f"line {lineno}"
        if not line.strip():
            problems.append(f"{where}: blank line")
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON: {exc}")
            continue
        if not isinstance(d, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        if isinstance(d.get("id"), str):
            where = f"line {lineno} ({d['id']})"
            ids[d["id"]] += 1
        if isinstance(d.get("question"), str):
            questions[d["question"].strip().lower()] += 1
        counts[d.get("type")] += 1
        check_item(d, where, corpus, problems)

    for i, c in ids.items():
        if c > 1:
            problems.append(f"id {i!r} used {c} times")
    for q, c in questions.items():
        if c > 1:
            problems.append(f"question repeated {c} times: {q!r}")
    total = sum(counts.values())
    if total < MIN_TOTAL:
        problems.append(f"only {total} questions (want at least {MIN_TOTAL})")
    for t in TYPES:
        if counts.get(t, 0) == 0:
            problems.append(f"no questions of type {t!r}")
    for t, need in MIN_TYPE_COUNTS.items():
        if counts.get(t, 0) < need:
            problems.append(f"only {counts.get(t, 0)} {t} questions (want at least {need})")

    print(f"{total} questions in {args.path}")
    for t in TYPES:
        print(f"  {t:<13}{counts.get(t, 0)}")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
