"""Where a question goes: the chosen profile, its fallback chain, and the `auto` mode that
keeps questions carrying sensitive data on the local model.

A hosted call carries the question, the conversation and the retrieved passages, and a
company's documents are where personal data lives: `auto` reads all three. Detection is by
pattern (e-mail addresses, phone numbers, card numbers passing the Luhn check, IBANs, API keys
and tokens, US social security numbers): cheap, local and explainable. It errs towards keeping
a question local. Passages from documents marked local-only (a `.kb-local-only` file in their
folder) are never sent to a hosted model: `auto` keeps the question local, an explicit hosted
choice is refused (assistant/backends/pool.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.backends.llms.base import Message

AUTO = "auto"
HOSTED_ALIAS = "hosted"

# Keys and tokens by their well-known shapes (OpenAI, Anthropic, AWS, GitHub, Slack, Google):
# what `auto` keeps local, and what the audit log blanks out of a question wherever it came from.
API_KEY = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|"
    r"gh[pousr]_[A-Za-z0-9]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})\b"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an e-mail address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    ("an API key or token", API_KEY),
    ("an IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("a social security number", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    (
        "a phone number",
        re.compile(r"(?<![\w-])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?![\w-])"),
    ),
]
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def sensitive_kinds(text: str) -> list[str]:
    """What kinds of sensitive data `text` seems to hold, in a fixed order; empty if none."""
    found = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            found.append("a card number")
            break
    for kind, pattern in _PATTERNS:
        if kind == "a phone number" and found:
            continue  # a card or IBAN also looks like a phone number
        if any(_enough_digits(kind, m.group(0)) for m in pattern.finditer(text)):
            found.append(kind)
    return found


def _enough_digits(kind: str, matched: str) -> bool:
    """Years and small counts are not phone numbers: ask for 7+ digits."""
    return kind != "a phone number" or sum(c.isdigit() for c in matched) >= 7


@dataclass(frozen=True)
class Route:
    """The profile a question goes to first, and why when a rule chose it."""

    backend: str  # the profile asked first
    reason: str | None = None  # shown to the user when a rule chose it


def route(
    requested: str,
    question: str,
    history: Sequence[Message],
    private: str,
    hosted: str,
    passages: Sequence[str] = (),
) -> Route:
    """`auto`: sensitive → `private`, otherwise → `hosted`; `hosted` is an alias; else as asked."""
    if requested == HOSTED_ALIAS:
        return Route(hosted)
    if requested != AUTO:
        return Route(requested)
    words = " ".join([question, *(t["content"] for t in history)])
    for where, text in (("question", words), ("passages", " ".join(passages))):
        kinds = sensitive_kinds(text)
        if kinds:
            return Route(private, f"kept on {private}: the {where} contain {' and '.join(kinds)}")
    checked = "question and passages" if passages else "question"
    return Route(hosted, f"sent to {hosted}: no sensitive data found in the {checked}")
