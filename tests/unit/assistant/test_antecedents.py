"""A reply that opens by pointing back gets the passage sentence it points to."""

import pytest

from assistant.answering.antecedents import with_antecedents

PASSAGE = (
    "We compared both options for a year. Proprietary APIs were cheaper until we reached "
    "about 10 million API calls per month. Beyond that threshold, open-source infrastructure "
    "became economically attractive for our team."
)


def test_an_opening_quote_that_points_back_gets_its_antecedent() -> None:
    reply = "Beyond that threshold, open-source infrastructure became economically attractive [1]."
    fixed = with_antecedents(reply, ["Unrelated text here.", PASSAGE])
    assert fixed.startswith("Proprietary APIs were cheaper until we reached about 10 million")
    assert fixed.endswith(reply)


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(
            "Proprietary APIs were cheaper until we reached about 10 million API calls per month. "
            "Beyond that threshold, open-source infrastructure became economically attractive [1].",
            id="already-holds-the-antecedent",
        ),
        pytest.param(
            "That threshold made open models the cheaper choice for the author [1].",
            id="own-words",  # no passage holds it word for word
        ),
        pytest.param(
            "Open models can be cheaper. "
            "Beyond that threshold, open-source infrastructure became economically attractive [1].",
            id="not-the-opening-sentence",
        ),
        pytest.param(
            "Proprietary APIs were cheaper until we reached about 10 million API calls [1].",
            id="opens-plainly",
        ),
    ],
)
def test_other_replies_are_unchanged(reply: str) -> None:
    assert with_antecedents(reply, [PASSAGE]) == reply
