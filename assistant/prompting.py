"""Prompt templates (package data) filled in for answering and for condensing follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

from assistant.llms.base import Message
from index.models import Hit


@cache
def template(name: str) -> str:
    return resources.files("assistant.prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")


def passage_label(hit: Hit) -> str:
    parts = [hit.chunk.title or hit.chunk.source.rsplit("/", 1)[-1], hit.chunk.location]
    return " — ".join(p for p in parts if p)


def format_passages(texts: Sequence[str]) -> str:
    # No titles or paths in the context: small models echo such headers back as the answer.
    return "\n\n".join(f"[{n}] {' '.join(text.split())}" for n, text in enumerate(texts, start=1))


def answer_messages(question: str, passages: Sequence[str]) -> list[Message]:
    """The answer prompt over the passage texts shown to the model, numbered from 1."""
    user = template("answer").format(passages=format_passages(passages), question=question.strip())
    return [
        {"role": "system", "content": template("system").strip()},
        {"role": "user", "content": user},
    ]


def condense_messages(question: str, history: Sequence[Message]) -> list[Message]:
    lines = [
        f"{turn['role'].capitalize()}: {' '.join(turn['content'].split())[:600]}"
        for turn in history[-4:]
    ]
    prompt = template("condense").format(history="\n".join(lines), question=question.strip())
    return [{"role": "user", "content": prompt}]
