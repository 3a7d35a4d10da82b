from assistant.answering.selection import close_hits, focused_passages, without_repeats
from index.models import Hit
from ingest.models import Chunk


def _hit(text: str) -> Hit:
    return Hit(Chunk(1, "a.md", "A", (), None, 0, len(text), text), 1.0, 0.5, None)


def test_whole_passages_are_given_with_whitespace_collapsed() -> None:
    text = "Self-hosting is cheaper\n  at very high request volumes."
    assert focused_passages([_hit(text)]) == [
        "Self-hosting is cheaper at very high request volumes."
    ]


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
