"""kb's two sentence rules: eager for replies and passages, cautious for chunk boundaries."""

from ingest.sentences import SENTENCE_END, split_sentences


def test_split_sentences_handles_lists() -> None:
    assert split_sentences("One. Two!\n- three\n\nFour?") == ["One.", "Two!", "- three", "Four?"]


def test_replies_split_after_any_sentence_end() -> None:
    assert split_sentences("Use e.g. the small one. | a row |") == [
        "Use e.g.",
        "the small one.",
        "| a row |",
    ]


def test_chunks_split_only_where_a_sentence_starts() -> None:
    line = "Use e.g. the small one. | a row | (as noted.) Then stop."
    assert SENTENCE_END.split(line) == [
        "Use e.g. the small one. | a row | (as noted.",
        "Then stop.",
    ]
