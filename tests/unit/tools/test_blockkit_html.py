"""The docs' Slack picture: every block's text reaches the HTML, mrkdwn becomes HTML."""

import html
import re
from typing import Any

from assistant.frontends.slack.render import answer_blocks
from tools.blockkit_html import mrkdwn_html, page_html, sample_answer

_WORD = re.compile(r"[^\W_]+")


def _texts(block: dict[str, Any]) -> list[str]:
    if "text" in block:
        return [block["text"]["text"]]
    elements = block.get("elements", [])
    return [e["text"]["text"] if "action_id" in e else e["text"] for e in elements]


def _words(mrkdwn: str) -> list[str]:
    """The words a reader sees: link targets dropped (labels kept), entities decoded."""
    shown = re.sub(r"<[^<>|]+\|([^<>]*)>", r"\1", mrkdwn)
    return _WORD.findall(html.unescape(shown))


def _rendered(page: str) -> list[list[str]]:
    """The words shown in each block's `div`, in block order."""
    parts = page.split('data-block="')[1:]
    return [_WORD.findall(html.unescape(re.sub(r"<[^>]+>", " ", part))) for part in parts]


def test_every_blocks_text_is_in_the_page_in_order() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "Recent questions"}}
    blocks = [*answer_blocks(sample_answer(), "fb-1"), {"type": "divider"}, header]
    rendered = _rendered(page_html(blocks))
    assert len(rendered) == len(blocks)
    for block, shown in zip(blocks, rendered, strict=True):
        expected = [w for text in _texts(block) for w in _words(text)]
        joined = " ".join(shown)
        assert " ".join(expected) in joined, (block, joined)
    assert re.findall(r'class="button">([^<]+)<', page_html(blocks)) == ["👍", "👎"]


def test_mrkdwn_becomes_html() -> None:
    shown = mrkdwn_html(
        "*bold* _it_ ~gone~ `a &lt; b` <https://x.example/a?b=1&amp;c=2|the docs> "
        "<https://y.example>\n> quoted &lt;script&gt;\n• item\n```\ncode &amp; more\n```"
    )
    assert "<b>bold</b> <i>it</i> <s>gone</s> <code>a &lt; b</code>" in shown
    assert '<a href="https://x.example/a?b=1&amp;c=2">the docs</a>' in shown
    assert '<a href="https://y.example">https://y.example</a>' in shown
    assert '<div class="quote">quoted &lt;script&gt;</div>' in shown
    assert "• item<br>" in shown and "<pre>code &amp; more</pre>" in shown
    assert "<script>" not in shown
