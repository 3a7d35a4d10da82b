"""kb's HTML reader against trafilatura, on kb's own HTML files.

Measures, for each HTML file (the corpus page and the HTML test fixtures), what each extractor
keeps: characters, words, the eval gold snippets of that file still found in the text (by the
hit rule in docs/contract.md: whitespace collapsed, case ignored), and navigation/boilerplate
lines kept (lines of at most 4 words with no sentence punctuation). Extractors:

- kb: `ingest.html_text.html_to_text`, what `ingest.readers.read_html` indexes;
- traf-recall: `trafilatura.extract(html, include_tables=True, include_comments=False,
  favor_recall=True)`;
- traf-default: `trafilatura.extract(html)`.

A "ceiling" row gives the same figures for all text of the page (every tag's text), so a gold
snippet missed by all extractors is seen to be absent from the page (it belongs to another file
of the same question). It also lists kb's `#` headings that an extractor's text lacks, and
prints the first and last 15 lines of each output so the furniture kept can be seen.

trafilatura is not a kb dependency: run with a separate venv that has it, e.g.
    PYTHONPATH=. /tmp/trafvenv/bin/python -P bench/html_extractors.py
(`-P`: without it bench/collections.py shadows the standard library; `-m` would import
bench/__init__.py and with it the whole assistant).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from ingest.html_text import html_to_text

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "corpus" / "gemma_terms_of_use.html", *sorted((ROOT / "tests").rglob("*.html"))]
SENTENCE_PUNCTUATION = re.compile(r"[.!?:;]")
SHOWN_LINES = 15

Extractor = Callable[[str], str]


def normalise(text: str) -> str:
    """The hit rule's form: runs of whitespace collapsed to one space, lower case."""
    return " ".join(text.split()).lower()


def gold_snippets(file_name: str) -> list[str]:
    """Unique gold snippets of every eval question whose `gold_files` name this file."""
    snippets: dict[str, None] = {}
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if file_name in row.get("gold_files", []):
                    snippets.update(dict.fromkeys(row.get("gold_snippets", [])))
    return list(snippets)


def is_navigation(line: str) -> bool:
    """A short line (at most 4 words) with no sentence punctuation: menu or link furniture."""
    words = line.split()
    return 0 < len(words) <= 4 and not SENTENCE_PUNCTUATION.search(line)


def kb_text(html: str) -> str:
    return html_to_text(html)[1]


def page_text(html: str) -> str:
    return BeautifulSoup(html, "html.parser").get_text("\n")


def extractors() -> dict[str, Extractor]:
    """The extractors compared; exits 1 when trafilatura is not installed."""
    try:
        import trafilatura
    except ImportError as error:
        print(f"trafilatura cannot be imported ({error}); install it in a separate venv")
        sys.exit(1)

    def recall(html: str) -> str:
        return (
            trafilatura.extract(
                html, include_tables=True, include_comments=False, favor_recall=True
            )
            or ""
        )

    def default(html: str) -> str:
        return trafilatura.extract(html) or ""

    return {"kb": kb_text, "traf-recall": recall, "traf-default": default}


def figures(text: str, snippets: list[str]) -> tuple[int, int, list[str], int]:
    """(characters, words, gold snippets missed, navigation lines) of one output."""
    flat = normalise(text)
    missed = [snippet for snippet in snippets if normalise(snippet) not in flat]
    navigation = sum(is_navigation(line) for line in text.splitlines())
    return len(text), len(text.split()), missed, navigation


def headings_missing(kb: str, other: str) -> list[str]:
    """kb's `#` headings whose words the other output does not contain."""
    flat = normalise(other)
    headings = [line.lstrip("#").strip() for line in kb.splitlines() if line.startswith("#")]
    return [heading for heading in headings if normalise(heading) not in flat]


def show(name: str, text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    print(f"\n--- {name}: first {SHOWN_LINES} of {len(lines)} non-blank lines")
    print("\n".join(f"  | {line[:110]}" for line in lines[:SHOWN_LINES]))
    print(f"--- {name}: last {SHOWN_LINES}")
    print("\n".join(f"  | {line[:110]}" for line in lines[-SHOWN_LINES:]))


def report(path: Path, runs: dict[str, Extractor]) -> None:
    html = path.read_text(encoding="utf-8")
    snippets = gold_snippets(path.name)
    outputs = {name: extract(html) for name, extract in runs.items()}
    print(f"\n=== {path.relative_to(ROOT)}  ({len(html)} chars of HTML, {len(snippets)} gold)")
    print(f"{'extractor':<14}{'chars':>8}{'words':>8}{'gold kept':>11}{'nav lines':>11}")
    for name, text in [*outputs.items(), ("ceiling", page_text(html))]:
        chars, words, missed, navigation = figures(text, snippets)
        kept = f"{len(snippets) - len(missed)}/{len(snippets)}"
        print(f"{name:<14}{chars:>8}{words:>8}{kept:>11}{navigation:>11}")
    for name, text in outputs.items():
        for snippet in figures(text, snippets)[2]:
            print(f"  {name} misses gold: {snippet[:70]!r}")
        if name != "kb":
            for heading in headings_missing(outputs["kb"], text):
                print(f"  {name} lacks kb heading: {heading[:70]!r}")
    for name, text in outputs.items():
        show(name, text)


def main() -> None:
    runs = extractors()
    for path in FILES:
        report(path, runs)


if __name__ == "__main__":
    main()
