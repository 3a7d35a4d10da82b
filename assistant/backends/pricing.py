"""What an answer cost: tokens of every model call, and USD when the backend's price is known."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.backends.llms.base import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens; local models cost nothing."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0


def usage_summary(usages: Sequence[Usage], price: Price | None) -> dict[str, object] | None:
    """Tokens of every call made for one answer, and their cost when the price is known."""
    if not usages:
        return None
    prompt = sum(u.prompt_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    cost = None
    if price is not None:
        cost = (prompt * price.prompt_per_mtok + completion * price.completion_per_mtok) / 1e6
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "estimated": any(u.estimated for u in usages),
        "cost_usd": None if cost is None else round(cost, 6),
    }
