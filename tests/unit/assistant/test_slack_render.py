"""What the Slack bot posts: mrkdwn (not Markdown), links guarded as on the page, sources and
feedback buttons in Block Kit."""

import re

from assistant.answering.models import Answer, Citation, Evidence
from assistant.frontends.slack import render
from assistant.frontends.slack.mrkdwn import split_mrkdwn, to_mrkdwn
from assistant.guards.links import REMOVED
from index.models import Hit
from ingest.models import Chunk

PASSAGE = "Self-hosting is cheaper at volume. See https://docs.example.org/guide for details."


def _hit(text: str = PASSAGE, n: int = 1, page: int | None = None) -> Hit:
    chunk = Chunk(n, f"docs/doc{n}.md", f"Doc <{n}>", ("Costs",), page, 0, len(text), text)
    return Hit(chunk, 0.03, 0.6, None)


def _answer(text: str, citations: int = 1, evidence: bool = False) -> Answer:
    cites = tuple(
        Citation(n, _hit(n=n), "x", "Self-hosting is cheaper.") for n in range(1, 1 + citations)
    )
    hits = tuple(c.hit for c in cites) or (_hit(),)
    quotes = Evidence(cites[:2], 0.2) if evidence else None
    timings = {"total_s": 2.5}
    return Answer("Is it cheaper?", text, cites, hits, "local", "Qwen", timings, evidence=quotes)


def test_markdown_becomes_mrkdwn() -> None:
    text = (
        "# Costs **now**\n**Bold** and __bold__, *it* and _it_ [1].\n- one\n* two\n  - nested\n"
        "1. first\n> quoted\nUse `a <b> & c` here.\n```py\nx = a**2 < b\n```\nend"
    )
    shown = to_mrkdwn(text, [])
    assert shown.splitlines() == [
        "*Costs now*",
        "*Bold* and *bold*, _it_ and _it_ [1].",
        "• one",
        "• two",
        "  • nested",
        "1. first",
        "> quoted",
        "Use `a &lt;b&gt; &amp; c` here.",
        "```",
        "x = a**2 &lt; b",
        "```",
        "end",
    ]


def test_text_cannot_ping_or_forge_links() -> None:
    shown = to_mrkdwn("Hey <!channel> and <@U123> see <https://evil.example|docs> & co", [])
    assert "<!" not in shown and "<@" not in shown and "<https" not in shown
    assert "&lt;!channel&gt;" in shown and "&amp; co" in shown


def test_links_are_kept_only_where_the_page_keeps_them() -> None:
    text = (
        "Read [the guide](https://docs.example.org/guide) or [this](http://evil.example/x), "
        "https://docs.example.org/guide. and https://evil.example/y ![img](https://evil.example/i.png)"
    )
    shown = to_mrkdwn(text, [PASSAGE])
    assert "<https://docs.example.org/guide|the guide>" in shown
    assert "or this, " in shown  # the text stays, without the link
    assert "<https://docs.example.org/guide>." in shown
    assert shown.endswith("and (link removed) img")  # an image is its text, never loaded
    assert "evil.example" not in shown and shown.count(REMOVED) == 1


def test_a_kept_url_with_a_pipe_or_ampersand_stays_one_link() -> None:
    url = "https://docs.example.org/a?x=1&y=a|b"
    shown = to_mrkdwn(f"[doc]({url})", [url])
    assert shown == "<https://docs.example.org/a?x=1&amp;y=a%7Cb|doc>"


def test_split_cuts_at_paragraphs_then_lines_then_sentences_then_words() -> None:
    paragraphs = "\n\n".join(["word " * 300] * 3)  # 1,500 characters each
    assert all(len(p) <= 3000 for p in split_mrkdwn(paragraphs, 3000))
    assert split_mrkdwn(paragraphs, 3000)[0].count("word") == 300
    sentences = " ".join(["This is a sentence of words."] * 200)
    pieces = split_mrkdwn(sentences, 1000)
    assert all(p.endswith(".") and len(p) <= 1000 for p in pieces)
    link = "<https://docs.example.org/guide|the long guide title>"
    pieces = split_mrkdwn("x " * 480 + link + " tail", 1000)
    assert any(link in p for p in pieces)  # never cut inside a link


def test_a_split_code_fence_is_closed_and_reopened() -> None:
    code = "```\n" + "\n".join(f"line {i} of the code" for i in range(200)) + "\n```"
    pieces = split_mrkdwn(code, 1000)
    assert len(pieces) > 1 and all(p.count("```") == 2 and len(p) <= 1000 for p in pieces)


def test_answer_blocks_in_order_with_feedback_buttons_before_the_footer() -> None:
    blocks = render.answer_blocks(_answer("It is **cheaper** [1].", evidence=True), "fb-42")
    kinds = [b["type"] for b in blocks]
    assert kinds == ["section", "section", "context", "actions", "context"]
    assert blocks[0]["text"]["text"].startswith("*What the documents say*\n> “")
    assert blocks[1]["text"] == {"type": "mrkdwn", "text": "It is *cheaper* [1].", "verbatim": True}
    assert blocks[2]["elements"][0]["text"].startswith(
        "*[1] Doc &lt;1&gt;* — Costs · `docs/doc1.md`"
    )
    buttons = blocks[3]["elements"]
    assert [b["action_id"] for b in buttons] == ["kb_feedback_up", "kb_feedback_down"]
    assert [b["text"]["text"] for b in buttons] == ["👍", "👎"]
    assert {b["value"] for b in buttons} == {"fb-42"}
    assert blocks[4]["elements"][0]["text"] == "local · Qwen · 2.5 s"
    assert "actions" not in [b["type"] for b in render.answer_blocks(_answer("x"))]


def test_sources_go_ten_to_a_context_block() -> None:
    blocks = render.answer_blocks(_answer("Cheaper [1].", citations=23))
    contexts = [b for b in blocks if b["type"] == "context"][:-1]
    assert [len(b["elements"]) for b in contexts] == [10, 10, 3]
    assert "[23]" in contexts[-1]["elements"][-1]["text"]


def test_an_answer_too_long_for_one_message_is_shortened_with_a_note() -> None:
    words = " ".join(f"w{i}" for i in range(60_000))
    blocks = render.answer_blocks(_answer(words, citations=3), "fb")
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= 50 and all(len(s) <= 3000 for s in sections)
    note = re.search(r"_\(answer shortened: ([\d,]+) characters more\)_$", sections[-1])
    assert note is not None
    shown = " ".join(sections)[: -len(note.group(0))].split()
    assert shown == words.split()[: len(shown)]  # the start, in order, no word cut
    left_out = len(words) - len(" ".join(shown))
    assert abs(int(note.group(1).replace(",", "")) - left_out) < 50


def test_fallback_text_is_cut_at_a_word() -> None:
    answer = _answer("**Costs** " + "abcdefghi " * 500)
    text = render.fallback_text(answer)
    assert len(text) <= 3000 and text.endswith("abcdefghi…") and text.startswith("*Costs*")
