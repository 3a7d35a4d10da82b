"""What a local model's probe speeds mean for a question here: the wait for the first word and
for the whole answer, and one sentence when the default model would start too slowly.

Arithmetic and words only: the speeds come from a remembered probe (`llama_probe`), the profiles
from the caller (`assistant.backends.profiles.slow_start_notice`). Nothing here runs a model or switches
one: the sentence names a faster profile and the user chooses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.backends.llms.llama_probe import ProbeResult

# The median prompt with the default settings (four whole passages), about the same on every
# eval set (docs/benchmarks.md, "What the model reads"). Sentence selection
# (`AnswerOptions.context_words`) would read far fewer tokens but is off: it cost answers.
TYPICAL_PROMPT_TOKENS = 1100
TYPICAL_REPLY_TOKENS = 60  # a typical answer, in tokens
BEFORE_READING_S = 0.5  # retrieval and the evidence shown, before the model reads its prompt
SLOW_START_S = 30.0  # a longer wait for the first word names the faster profile
FALLBACK_PROFILE = "local-fast"  # named when no faster profile's probe is remembered
TYPICAL_QUESTION = (
    f"{TYPICAL_PROMPT_TOKENS} prompt tokens read after {BEFORE_READING_S} s of retrieval, "
    f"{TYPICAL_REPLY_TOKENS} tokens written"
)


@dataclass(frozen=True)
class Forecast:
    """Seconds a typical question waits here: for the first token and for the whole answer."""

    first_token_s: float
    answer_s: float


@dataclass(frozen=True)
class ProfileSpeed:
    """A local profile, the model users know it by, and what its remembered probe predicts."""

    name: str  # the profile: what `--backend` takes
    model: str  # e.g. "Qwen2.5-Coder-1.5B"
    forecast: Forecast


def forecast(probe: ProbeResult | None) -> Forecast | None:
    """The waits `probe`'s speeds predict for a typical question; None without a timed pass."""
    if probe is None or not probe.ok or probe.prompt_tok_s <= 0 or probe.gen_tok_s <= 0:
        return None
    first = BEFORE_READING_S + TYPICAL_PROMPT_TOKENS / probe.prompt_tok_s
    return Forecast(first, first + TYPICAL_REPLY_TOKENS / probe.gen_tok_s)


def speed_report(probe: ProbeResult) -> dict[str, float | int | None]:
    """For `kb doctor`: the probe's speeds and threads, and the waits they predict."""
    predicted = forecast(probe)
    return {
        "prompt_tok_s": round(probe.prompt_tok_s, 1),
        "write_tok_s": round(probe.gen_tok_s, 1),
        "threads": probe.threads or None,  # None: remembered before threads were recorded
        "typical_first_token_s": round(predicted.first_token_s, 1) if predicted else None,
        "typical_answer_s": round(predicted.answer_s, 1) if predicted else None,
    }


def slow_start_text(default: ProfileSpeed, others: Sequence[ProfileSpeed]) -> str | None:
    """One sentence when `default` would take over SLOW_START_S to start answering, naming the
    fastest of `others` that starts sooner (else FALLBACK_PROFILE); None when it is quick enough."""
    waits = default.forecast.first_token_s
    if waits <= SLOW_START_S:
        return None
    start = (
        f"On this machine the default model ({default.name}, {default.model}) would take "
        f"about {waits:.0f} s to start answering"
    )
    faster = [o for o in others if o.name != default.name and o.forecast.first_token_s < waits]
    if faster:
        best = min(faster, key=lambda other: other.forecast.first_token_s)
        took = f"would take about {best.forecast.first_token_s:.0f} s"
        return f"{start}; the faster profile {best.name} {took}: {_how_to_pick(best.name)}"
    if default.name != FALLBACK_PROFILE:
        should = f"the faster profile {FALLBACK_PROFILE} should start sooner"
        return f"{start}; {should}: {_how_to_pick(FALLBACK_PROFILE)}"
    return f"{start}."


def _how_to_pick(name: str) -> str:
    return f"`kb ask --backend {name}`, or pick it in the page's backend menu."
