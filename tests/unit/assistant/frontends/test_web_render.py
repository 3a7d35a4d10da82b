"""What the page shows: links for valid citations only, escaped text, highlighted evidence."""

from assistant.answering.models import Answer, Citation
from assistant.frontends.web import render
from index.builder import IngestReport
from index.models import Hit
from ingest.models import Chunk


def _hit(text: str, source: str = "docs/a.md", title: str | None = "A <doc>") -> Hit:
    chunk = Chunk(1, source, title, ("Costs",), None, 10, 10 + len(text), text)
    return Hit(chunk, 0.0321, 0.61, None)


def _answer(text: str, citations: tuple[Citation, ...], refused: bool = False) -> Answer:
    hits = tuple(c.hit for c in citations) or (_hit("Some passage."),)
    timings = {"retrieve_s": 0.1, "first_token_s": 1.25, "total_s": 2.5}
    return Answer("Why <b>?", text, citations, hits, "local", "Qwen", timings, refused=refused)


def test_answer_markdown_links_cited_markers_and_names_the_backend() -> None:
    hit = _hit("Self-hosting is cheaper at volume. Other things.")
    answer = _answer("It is cheaper [1]. Also [7].", (Citation(1, hit, "It is cheaper", "x"),))
    shown = render.answer_markdown(answer, 3)
    assert "[[1]](#kb-src-3-1)" in shown
    assert "[7]" in shown and "#kb-src-3-7" not in shown
    assert "local · Qwen · 2.5 s, first token 1.2 s" in shown


def test_sources_html_escapes_text_and_marks_the_evidence_sentence() -> None:
    hit = _hit("Costs <fall> at scale. Self-hosting is cheaper at volume.")
    citation = Citation(1, hit, "cheaper", "Self-hosting is cheaper at volume.")
    shown = render.sources_html([_answer("Cheaper [1].", (citation,))])
    assert 'id="kb-src-0-1" open' in shown
    assert "Costs &lt;fall&gt;" in shown and "<fall>" not in shown
    assert '<mark class="kb-evidence">Self-hosting is cheaper at volume.</mark>' in shown
    assert "A &lt;doc&gt;" in shown and "Why &lt;b&gt;?" in shown
    assert 'data-key="docs/a.md|10|' in shown and "score 0.032, similarity 0.61" in shown


def test_refusal_lists_nearest_passages_and_older_answers_start_closed() -> None:
    hit = _hit("Cheaper at volume.")
    first = _answer("Cheaper [1].", (Citation(1, hit, "Cheaper", "Cheaper at volume."),))
    refusal = _answer("The documents do not cover this.", (), refused=True)
    shown = render.sources_html([first, refusal])
    assert shown.index("Nearest passages") < shown.index("Sources for")
    assert 'id="kb-src-0-1">' in shown  # the older answer's card is closed


def test_document_html_marks_the_span_and_escapes() -> None:
    shown = render.document_html(None, "docs/a.md", "ab<c>de", 2, 5)
    assert 'ab<mark id="kb-doc-mark">&lt;c&gt;</mark>de' in shown
    assert render.parse_open_key("dir|x/a.md|2|5") == ("dir|x/a.md", 2, 5)


def test_upload_and_status_lines() -> None:
    report = IngestReport(added=["up/a.md"], failed=[("up/b.pdf", "not a PDF")], chunks=7)
    shown = render.upload_markdown(report, [("c.exe", "unsupported type")])
    assert "❌ **c.exe**: unsupported type" in shown and "✅ **a.md**: added" in shown
    assert "❌ **b.pdf**: not a PDF" in shown and "7 chunks" in shown
    status = render.status_markdown(render.StatusFacts(9, 120, "Qwen", "CPU", False))
    assert "**9** documents" in status and "offline" in status
