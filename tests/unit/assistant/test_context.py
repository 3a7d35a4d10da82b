from assistant.context import GAP, focused_passages
from index.embedders import HashingEmbedder
from index.models import Hit
from ingest.models import Chunk


def _hit(text: str) -> Hit:
    return Hit(Chunk(1, "a.md", "A", (), None, 0, len(text), text), 1.0, 0.5, None)


LONG = (
    "Llamas live in the Andes. They carry loads for farmers. "
    "Self-hosting is cheaper at very high request volumes. "
    "The weather there is cold at night. Per-token fees keep growing with volume."
)


def test_a_passage_is_cut_to_its_sentences_closest_to_the_question() -> None:
    [shown] = focused_passages(
        "Is self-hosting cheaper at high volumes?", [_hit(LONG)], HashingEmbedder(), 16
    )
    assert "Self-hosting is cheaper at very high request volumes." in shown
    assert "Andes" not in shown and len(shown.split()) <= 16 + 1


def test_kept_sentences_stay_in_document_order_with_a_gap_mark() -> None:
    [shown] = focused_passages(
        "self-hosting cheaper volumes per-token fees volume", [_hit(LONG)], HashingEmbedder(), 20
    )
    assert shown.index("Self-hosting") < shown.index("Per-token") and GAP in shown


def test_no_budget_or_a_short_passage_shows_the_whole_text() -> None:
    hits = [_hit(LONG)]
    assert focused_passages("cheaper?", hits, HashingEmbedder(), 0) == [" ".join(LONG.split())]
    assert focused_passages("cheaper?", hits, HashingEmbedder(), 500) == [" ".join(LONG.split())]
