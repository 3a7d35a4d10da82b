from assistant.answering.context import GAP, close_hits, focused_passages, without_repeats
from index.models import Hit
from ingest.models import Chunk
from tests.support.fakes import HashingEmbedder


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


def _span_hit(source: str, start: int, text: str, dense: float) -> Hit:
    chunk = Chunk(start, source, None, (), None, start, start + len(text), text)
    return Hit(chunk, dense, dense, None)


def test_neighbouring_chunks_give_their_shared_text_once() -> None:
    document = "Alpha one. Beta two. Gamma three. Delta four."
    first = _span_hit("a.md", 0, document[0:33], 0.9)  # Alpha .. Gamma
    second = _span_hit("a.md", 21, document[21:], 0.8)  # Gamma .. Delta: Gamma repeated
    other = _span_hit("b.md", 21, document[21:], 0.7)  # another file: nothing shared
    texts = without_repeats([first, second, other])
    assert texts == ["Alpha one. Beta two. Gamma three.", "Delta four.", document[21:]]


def test_passages_far_below_the_best_are_left_out() -> None:
    hits = [_span_hit("a.md", 0, "x", d) for d in (0.7, 0.55, 0.49, 0.3)]
    assert [h.dense for h in close_hits(hits, 0.2)] == [0.7, 0.55]
    assert len(close_hits(hits, 1.0)) == 4
