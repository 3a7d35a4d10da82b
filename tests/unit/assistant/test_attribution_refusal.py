import numpy as np

from assistant.guards.attribution import (
    attribute,
    evidence_sentence,
    strip_invalid_markers,
)
from assistant.guards.refusal import copied_share, is_echo, says_it_does_not_know


def test_invalid_markers_are_removed_valid_kept() -> None:
    text, valid = strip_invalid_markers("Costs fall [2] at scale [7].", passages=3)
    assert text == "Costs fall [2] at scale." and valid == [2]


def test_sentences_are_attributed_above_the_threshold_only() -> None:
    passages = np.eye(3, dtype=np.float32)
    sentences = np.array([[0.9, 0.1, 0], [0, 0, 0.2]], dtype=np.float32)
    result = attribute(
        "Open models cost less at scale. It also rains a lot today.",
        sentences,
        passages,
        ["a", "b", "c"],
        0.5,
    )
    assert result.text == "Open models cost less at scale [1]. It also rains a lot today."
    assert result.cited == (1,)
    assert result.support[1] == "Open models cost less at scale."


def test_model_markers_pointing_outside_are_dropped_even_without_vectors() -> None:
    result = attribute(
        "Fees add up [9]. Hosting is cheaper [1].",
        None,
        np.eye(2, dtype=np.float32),
        ["a", "b"],
        0.5,
    )
    assert result.text == "Fees add up. Hosting is cheaper [1]." and result.cited == (1,)


def test_dont_know_detection() -> None:
    assert says_it_does_not_know("I don't know.")
    assert says_it_does_not_know("The passages do not mention the price.")
    assert not says_it_does_not_know("Proprietary models do not provide their weights [1].")
    assert not says_it_does_not_know(
        "I don't know " + "word " * 60
    )  # long replies are not refusals


def test_echo_detection() -> None:
    passage = " ".join(f"word{i}" for i in range(120))
    assert copied_share(" ".join(passage.split()[:40]), [passage]) == 1.0
    assert is_echo(passage, [passage], 0.8)
    assert not is_echo(
        "Open models are cheaper at scale because you pay for hardware not tokens [1].",
        [passage],
        0.8,
    )


def test_word_overlap_supports_a_sentence_the_embedding_missed() -> None:
    passages = ["The weather is mild.", "GPT-4 charges $0.03 per 1,000 tokens for input."]
    vectors = np.array([[0.1, 0.1]], dtype=np.float32)  # below the cosine threshold
    result = attribute(
        "GPT-4 charges $0.03 per 1,000 input tokens.",
        vectors,
        np.eye(2, dtype=np.float32),
        passages,
        0.5,
    )
    assert result.cited == (2,) and result.text.endswith("[2].")


def test_leading_markers_move_to_the_end_and_bare_markers_go() -> None:
    result = attribute(
        "[1] Mistral is open. [2]", None, np.eye(2, dtype=np.float32), ["a", "b"], 0.5
    )
    assert result.text == "Mistral is open [1]." and result.cited == (1,)


def test_word_overlap_compares_stems_not_spellings() -> None:
    passages = [
        "The weather is mild.",
        "all-MiniLM-L6-v2 maps sentences to a 384 dimensional dense vector space for embeddings.",
    ]
    result = attribute(
        "The embedding dimension of all-MiniLM-L6-v2 is 384.",
        np.array([[0.1, 0.1]], dtype=np.float32),
        np.eye(2, dtype=np.float32),
        passages,
        0.5,
    )
    assert result.cited == (2,)


def test_evidence_is_the_passage_sentence_sharing_most_words() -> None:
    passage = "Costs vary. Hosting your own model is cheaper at very high volumes. The end."
    assert evidence_sentence("Self-hosting is cheaper at high volume", passage) == (
        "Hosting your own model is cheaper at very high volumes."
    )
