"""Prompt templates (package data) filled in for answering and for condensing follow-ups.

Text from documents and conversations is put in the prompt with chat-template control tokens
neutralised: llama.cpp tokenizes the rendered chat template with special tokens parsed, so a
document holding `<|im_start|>system` would otherwise open a real system turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from assistant.backends.llms.base import Message
from index.models import Hit


@dataclass(frozen=True)
class SelectedPassage:
    """A retrieved passage as the model reads it (`assistant.answering.selection`): its number
    among the hits, where it comes from, and the kept sentences (runs joined by spaces, gaps
    marked with an ellipsis)."""

    n: int
    label: str
    text: str


@cache
def template(name: str) -> str:
    """The prompt template `name` (a .txt file in assistant/answering/prompts)."""
    return (
        resources.files("assistant.answering.prompts")
        .joinpath(f"{name}.txt")
        .read_text(encoding="utf-8")
    )


# Control-token shapes of common chat templates: ChatML and Llama 3 (`<|...|>`), Llama 2 and
# Mistral (`<s>`, `[INST]`, `<<SYS>>`), Gemma (`<start_of_turn>`), tool and reasoning tags.
_CONTROL = re.compile(
    r"<\|[^<>|\s]{1,40}\|>"
    r"|</?(?:s|bos|eos|unk|pad|start_of_turn|end_of_turn|tool_call|tool_response|think)>"
    r"|\[/?(?:INST|SYS|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]"
    r"|<</?SYS>>",
    re.IGNORECASE,
)
_INERT = str.maketrans({"<": "‹", ">": "›", "[": "(", "]": ")"})


def neutralise_control_tokens(text: str) -> str:
    """`text` with chat-template control tokens made plain text (`<|im_start|>` becomes
    `‹|im_start|›`), so that no tokenizer reads them as template tokens."""
    return _CONTROL.sub(lambda match: match.group(0).translate(_INERT), text)


# Sentences that address a model rather than a reader: a document is quoted material, and these
# are withheld from the prompt whatever the model would make of them (docs/benchmarks.md,
# hostile documents). Not in any corpus sentence; the list is the injections seen in the wild.
_INSTRUCTION = re.compile(
    r"[^.!?\n]*\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
    r"(?:previous|above|prior|earlier|preceding)\s+(?:instructions|prompts?|rules)[^.!?\n]*[.!?]?"
    r"|[^.!?\n]*\b(?:reply|respond|answer)\s+only\s+(?:with|in|by)\b[^.!?\n]*[.!?]?"
    r"|[^.!?\n]*\byou\s+are\s+now\b[^.!?\n]*[.!?]?"
    r"|[^.!?\n]*\binstructions\s+for\s+(?:ai|llms?|language\s+models?|assistants?)\b[^.!?\n]*[.!?]?",
    re.IGNORECASE,
)
WITHHELD = "(instructions to a model withheld)"


def withhold_instructions(text: str) -> str:
    """`text` with sentences that give orders to a model replaced by a short marker."""
    return _INSTRUCTION.sub(f" {WITHHELD}", text)


def passage_label(hit: Hit) -> str:
    """Where a passage comes from, as shown to the user: title, section or page."""
    parts = [hit.chunk.title or hit.chunk.source.rsplit("/", 1)[-1], hit.chunk.location]
    return " — ".join(p for p in parts if p)


def _plain(text: str) -> str:
    return " ".join(withhold_instructions(neutralise_control_tokens(text)).split())


def format_passages(passages: Sequence[str | SelectedPassage]) -> str:
    """The numbered passages as the answer prompt lists them: plain texts numbered from 1
    (no titles or paths: small models echo such headers back as the answer), selected
    sentences under their own passage number and their document's title and section."""
    blocks = []
    for i, passage in enumerate(passages, start=1):
        if isinstance(passage, str):
            blocks.append(f"[{i}] {_plain(passage)}")
        elif passage.label:
            blocks.append(f"[{passage.n}] ({_plain(passage.label)}) {_plain(passage.text)}")
        else:  # a passage under its own number, unlabelled (a compound question's part)
            blocks.append(f"[{passage.n}] {_plain(passage.text)}")
    return "\n\n".join(blocks)


def answer_messages(question: str, passages: Sequence[str | SelectedPassage]) -> list[Message]:
    """The answer prompt over the passages shown to the model (texts numbered from 1, or
    passages under their own numbers)."""
    user = template("answer").format(
        passages=format_passages(passages), question=neutralise_control_tokens(question.strip())
    )
    return [
        {"role": "system", "content": template("system").strip()},
        {"role": "user", "content": user},
    ]


def condense_messages(question: str, history: Sequence[Message]) -> list[Message]:
    """The messages that ask the model to rewrite a follow-up as a standalone question."""
    lines = [
        f"{turn['role'].capitalize()}: {' '.join(turn['content'].split())[:600]}"
        for turn in history[-4:]
    ]
    prompt = template("condense").format(
        history=neutralise_control_tokens("\n".join(lines)),
        question=neutralise_control_tokens(question.strip()),
    )
    return [{"role": "user", "content": prompt}]
