"""The words of kb's own answers: refusals, the leads over quoted evidence, and how the
replies to a compound question's parts become one answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.guards.grounding import adds_nothing
from assistant.guards.refusal import known_part, says_it_does_not_know
from ingest.sentences import split_sentences

NOT_COVERED = "The documents do not cover this."
NOT_ANSWERED = "The documents do not clearly answer this."
# Leads of the answers that show the evidence instead of the model's reply: the evidence may
# well hold the answer, so it is labelled as what the documents say, not as "no answer".
NO_ANSWER_LEAD = f"{NOT_ANSWERED} What they say nearest to it"  # the model found no answer
DECLINED_LEAD = "kb could not confirm the model's answer. What the documents say"
ECHO_LEAD = "The model only repeated the passages. What the documents say"
ECHO_NOTE = "the model's reply echoed the passages"
SWAPPED_LEAD = "The model's reply mixed up the two sides. What the documents say of each"
SWAPPED_NOTE = "the model's reply gave one side what the passages say of the other"
FOUND_NO_ANSWER = "the model found no answer"
PART_PASSAGES = 2  # passages each part of a compound question is answered from
PART_NOT_ANSWERED = "The documents do not clearly answer this part: {part}"
# That sentence restates a question: whatever passage it resembles, it cites none.
_UNANSWERED_PART = re.compile(r"The documents do not clearly answer this part: [^?]*\??[\s\[\]\d]*")
_MARKERS = re.compile(r"\s*\[\d+\]")


def without_gap_citations(text: str) -> str:
    """The answer with no citation on a part's "do not clearly answer" sentence."""
    return _UNANSWERED_PART.sub(lambda m: _MARKERS.sub("", m.group(0)).rstrip() + " ", text).strip()


def found_no_answer(reply: str, question: str) -> bool:
    """A reply that says it does not know and adds nothing else to the question."""
    return says_it_does_not_know(reply) and adds_nothing(known_part(reply), question)


def _no_answer(reply: str, question: str) -> bool:
    """An empty reply, or one that found no answer."""
    return not reply or found_no_answer(reply, question)


def part_answer(reply: str, part: str) -> str | None:
    """A part's reply less the sentences that only restate the part's question ("Open-source
    LLMs tend to perform better overall" to "Which tends to perform better overall, open-source
    LLMs?"); None when nothing is left or the model found no answer."""
    if _no_answer(reply, part):
        return None
    kept = [s for s in split_sentences(reply) if not adds_nothing(s, part)]
    return " ".join(kept) or None


def joined_part_replies(parts: Sequence[str], replies: Sequence[str]) -> str:
    """One reply from each part's: a part the model found no answer to says so in a plain
    sentence and the other parts keep their answers; "I don't know." when none has one."""
    answers = [part_answer(reply, part) for part, reply in zip(parts, replies, strict=True)]
    if not any(answers):
        return "I don't know."
    return " ".join(
        answer or PART_NOT_ANSWERED.format(part=part)
        for part, answer in zip(parts, answers, strict=True)
    )
