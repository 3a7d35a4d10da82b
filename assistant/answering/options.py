"""How the assistant answers. The first four come from the settings (`answer.*`, `llm.*`);
the others are fixed here, where they were chosen: benchmarks may pass other values in."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.settings import AnswerSettings, LlmSettings

_ANSWER, _LLM = AnswerSettings(), LlmSettings()

ATTRIBUTION_THRESHOLD = 0.45  # cosine similarity a sentence needs to cite a passage
ECHO_THRESHOLD = 0.8  # share of a reply's 6-word runs copied from passages that makes an echo
ECHO_MIN_WORDS = 100  # shorter replies are never echoes: quoting passages is fine
# Passages whose similarity is this far below the best one's are not given to the model; 1: all.
DROP_BELOW = 1.0
# Words of passage sentences the model reads, chosen by the question; 0: whole passages
# (docs/benchmarks.md: a budget cut prompts but lost answers).
CONTEXT_WORDS = 0


@dataclass(frozen=True)
class AnswerOptions:
    """Passages, thresholds and reply length for answering."""

    top_k: int = _ANSWER.top_k
    min_relevance: float = _ANSWER.min_relevance
    max_tokens: int = _LLM.max_tokens
    temperature: float = _LLM.temperature
    attribution_threshold: float = ATTRIBUTION_THRESHOLD
    echo_threshold: float = ECHO_THRESHOLD
    echo_min_words: int = ECHO_MIN_WORDS
    context_words: int = CONTEXT_WORDS
    drop_below: float = DROP_BELOW
    once_only: bool = False  # text neighbouring chunks share is given once
