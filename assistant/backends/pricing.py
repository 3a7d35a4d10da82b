"""What an answer cost: tokens of every model call, and USD when the backend's price is known."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from assistant.backends.llms.base import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens; local models cost nothing."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0


class UsageSummary(TypedDict):
    """Tokens of one answer's model calls, and their cost: the `usage` field of `kb ask --json`."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool  # a backend that reports no counts was estimated from the text
    cost_usd: float | None  # None: the backend's price is unknown


def usage_summary(usages: Sequence[Usage], price: Price | None) -> UsageSummary | None:
    """Tokens of every call made for one answer, and their cost when the price is known."""
    if not usages:
        return None
    prompt = sum(u.prompt_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    cost = None
    if price is not None:
        cost = (prompt * price.prompt_per_mtok + completion * price.completion_per_mtok) / 1e6
    return UsageSummary(
        prompt_tokens=prompt,
        completion_tokens=completion,
        estimated=any(u.estimated for u in usages),
        cost_usd=None if cost is None else round(cost, 6),
    )


def usage_text(usage: UsageSummary | None, separator: str, *, detailed: bool) -> str:
    """`usage_summary`'s tokens and cost as text, each part led by `separator`; `detailed` (the
    page) marks estimated counts with `~` and says "free" or "cost unknown", where the terminal
    line names a known cost only."""
    if not usage:
        return ""
    approx = "~" if detailed and usage["estimated"] else ""
    parts = [f"{approx}{usage['prompt_tokens']}+{usage['completion_tokens']} tokens"]
    cost = usage["cost_usd"]
    if detailed and cost is None:
        parts.append("cost unknown")
    elif detailed and cost == 0:
        parts.append("free")
    elif cost is not None:
        parts.append(f"${cost:.4f}")
    return "".join(separator + part for part in parts)
