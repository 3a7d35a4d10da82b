"""Tokens and cost as the terminal and the page show them (`pricing.usage_text`)."""

import pytest

from assistant.answering.models import Answer
from assistant.backends.llms.base import UsageSummary
from assistant.frontends.cli.commands import _render_final
from assistant.frontends.web.render import answer_markdown


def spent(cost: float | None, estimated: bool = False) -> UsageSummary:
    return UsageSummary(prompt_tokens=90, completion_tokens=12, estimated=estimated, cost_usd=cost)


@pytest.mark.parametrize(
    ("usage", "terminal", "page"),
    [
        (None, "(fake: m; 2.5 s)", "· 2.5 s</sub>"),
        (
            spent(0.000284),
            "(fake: m; 2.5 s; 90+12 tokens; $0.0003)",
            " · 90+12 tokens · $0.0003</sub>",
        ),
        (
            spent(0, estimated=True),
            "(fake: m; 2.5 s; 90+12 tokens; $0.0000)",
            " · ~90+12 tokens · free</sub>",
        ),
        (
            spent(None),
            "(fake: m; 2.5 s; 90+12 tokens)",
            " · 90+12 tokens · cost unknown</sub>",
        ),
    ],
)
def test_the_terminal_and_the_page_end_with_tokens_and_cost(
    usage: UsageSummary | None, terminal: str, page: str
) -> None:
    answer = Answer("q", "It is cheaper.", (), (), "fake", "m", {"total_s": 2.5}, usage=usage)
    assert _render_final(answer).endswith("\n" + terminal)
    assert answer_markdown(answer, 1).endswith(page)
