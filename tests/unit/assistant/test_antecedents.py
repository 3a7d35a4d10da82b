"""A reply that opens by pointing back gets the passage sentence it points to."""

from assistant.antecedents import with_antecedents

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


def test_a_reply_that_already_holds_the_antecedent_is_unchanged() -> None:
    reply = (
        "Proprietary APIs were cheaper until we reached about 10 million API calls per month. "
        "Beyond that threshold, open-source infrastructure became economically attractive [1]."
    )
    assert with_antecedents(reply, [PASSAGE]) == reply


def test_own_words_and_later_sentences_are_left_alone() -> None:
    own = "That threshold made open models the cheaper choice for the author [1]."
    assert with_antecedents(own, [PASSAGE]) == own  # no passage holds it word for word
    later = (
        "Open models can be cheaper. "
        "Beyond that threshold, open-source infrastructure became economically attractive [1]."
    )
    assert with_antecedents(later, [PASSAGE]) == later


def test_a_reply_that_opens_plainly_is_unchanged() -> None:
    reply = "Proprietary APIs were cheaper until we reached about 10 million API calls [1]."
    assert with_antecedents(reply, [PASSAGE]) == reply
