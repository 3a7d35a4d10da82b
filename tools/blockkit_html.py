"""A static picture of what kb posts in Slack: Block Kit blocks rendered as an HTML page styled
like a Slack message, and a screenshot of it taken with headless Chromium.

It renders the blocks kb uses (section, context, actions, header, divider) and mrkdwn (bold,
italic, strike, code, fenced code, quotes, links, bullets). It is a picture for the docs, not
Slack's renderer; kb never imports it.

Usage: `python -m tools.blockkit_html [--out docs]` writes `slack_answer_blocks.json` (the blocks
of a representative answer, from kb's own `answer_blocks`) and `slack_answer.png`;
`python -m tools.blockkit_html --blocks FILE.json --html OUT.html` renders any blocks.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path
from typing import Any

from assistant.answering.models import Answer, Citation, Evidence
from assistant.frontends.slack.render import answer_blocks
from index.models import Hit
from ingest.models import Chunk

_FENCE = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_INLINE = re.compile(r"`(?P<code>[^`\n]+)`|<(?P<url>[^<>|\s]+)(?:\|(?P<label>[^<>]*))?>")
_STYLES = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
]

CSS = """
body { margin: 0; background: #fff; font: 15px/1.46 -apple-system, "Segoe UI", Lato, Roboto,
  "Helvetica Neue", Arial, sans-serif, "Noto Color Emoji"; color: #1d1c1d; }
.message { display: flex; gap: 8px; padding: 12px 20px; width: 720px; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #4a154b;
  color: #fff; font-weight: 700; display: flex; align-items: center; justify-content: center; }
.name { font-weight: 900; } .app { background: #e8e8e8; color: #616061; font-size: 10px;
  font-weight: 700; padding: 1px 3px; border-radius: 2px; margin: 0 4px; vertical-align: 2px; }
.time { color: #616061; font-size: 12px; }
.block { margin: 4px 0; } .context { color: #616061; font-size: 12px; display: flex;
  flex-direction: column; gap: 4px; } .header { font-size: 18px; font-weight: 900; }
hr { border: 0; border-top: 1px solid #ddd; }
a { color: #1264a3; text-decoration: none; }
code { color: #e01e5a; background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px;
  padding: 0 3px; font-size: 12px; font-family: Monaco, Menlo, Consolas, monospace; }
pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px;
  font-size: 12px; white-space: pre-wrap; margin: 4px 0; }
.quote { border-left: 4px solid #ddd; padding-left: 10px; }
.actions { display: flex; gap: 8px; } .button { border: 1px solid #bbb; border-radius: 4px;
  padding: 2px 12px; font-size: 15px; background: #fff; font-weight: 700; }
"""


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn as HTML: fenced code, quote lines, then the inline styles and links."""
    parts, last = [], 0
    for fence in _FENCE.finditer(text):
        parts.append(_lines(text[last : fence.start()]))
        parts.append(f"<pre>{_plain(fence.group(1))}</pre>")
        last = fence.end()
    parts.append(_lines(text[last:]))
    return "".join(parts)


def _lines(text: str) -> str:
    shown = []
    for line in text.split("\n"):
        if line.startswith(">"):
            shown.append(f'<div class="quote">{_inline(line[1:].lstrip())}</div>')
        else:
            shown.append(_inline(line) + "<br>")
    return "".join(shown)


def _inline(text: str) -> str:
    out, last = [], 0
    for token in _INLINE.finditer(text):
        out.append(_styled(text[last : token.start()]))
        if token.group("code"):
            out.append(f"<code>{_plain(token.group('code'))}</code>")
        else:
            url = html.unescape(token.group("url"))
            label = token.group("label")
            shown = _styled(label) if label is not None else _plain(token.group("url"))
            out.append(f'<a href="{html.escape(url, quote=True)}">{shown}</a>')
        last = token.end()
    out.append(_styled(text[last:]))
    return "".join(out)


def _plain(text: str) -> str:
    """mrkdwn escapes `&`, `<`, `>` as HTML does: undo, then escape for HTML."""
    return html.escape(html.unescape(text))


def _styled(text: str) -> str:
    text = _plain(text)
    for pattern, tag in _STYLES:
        text = pattern.sub(rf"<{tag}>\1</{tag}>", text)
    return text


def block_html(block: dict[str, Any], n: int) -> str:
    """One block as a `div` (`data-block` = its index)."""
    kind = block.get("type", "")
    if kind == "section":
        inner = mrkdwn_html(block["text"]["text"])
    elif kind == "context":
        inner = "".join(f"<div>{_text_object(e)}</div>" for e in block["elements"])
    elif kind == "actions":
        buttons = [_text_object(e["text"]) for e in block["elements"]]
        inner = "".join(f'<span class="button">{b}</span>' for b in buttons)
    elif kind == "header":
        inner = html.escape(block["text"]["text"])
    elif kind == "divider":
        inner = "<hr>"
    else:
        raise ValueError(f"blockkit_html: no rendering for a {kind!r} block; add one here")
    return f'<div class="block {kind}" data-block="{n}">{inner}</div>'


def _text_object(obj: dict[str, Any]) -> str:
    return mrkdwn_html(obj["text"]) if obj.get("type") == "mrkdwn" else html.escape(obj["text"])


def page_html(blocks: list[dict[str, Any]]) -> str:
    """A whole HTML page: kb's avatar, name and APP tag, then the blocks."""
    body = "".join(block_html(block, n) for n, block in enumerate(blocks))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head><body>'
        '<div class="message"><div class="avatar">kb</div><div class="content">'
        '<span class="name">kb</span><span class="app">APP</span><span class="time">10:42</span>'
        f"{body}</div></div></body></html>"
    )


def sample_answer() -> Answer:
    """A representative answer: Markdown as the model writes it, three cited passages with
    evidence, a kept link, the footer."""
    passages = [
        (
            "costs.md",
            "Costs",
            ("Costs", "At volume"),
            None,
            "Self-hosting open models is cheaper at "
            "very high volumes than per-token API fees. Pricing: https://example.org/pricing",
        ),
        (
            "scale.pdf",
            "Scaling inference",
            ("Hardware",),
            4,
            "At very high request volumes the fixed "
            "cost of owning inference hardware is spread over many calls.",
        ),
        (
            "privacy.md",
            "Privacy",
            ("On premises",),
            None,
            "Running models on premises keeps sensitive data inside your own infrastructure.",
        ),
    ]
    hits = [
        Hit(Chunk(n, src, title, path, page, 0, len(text), text), 0.03, 0.7)
        for n, (src, title, path, page, text) in enumerate(passages, start=1)
    ]
    evidence = [p[4].split(". ")[0].rstrip(".") + "." for p in passages]
    cites = tuple(
        Citation(n, h, "", e) for n, (h, e) in enumerate(zip(hits, evidence, strict=True), start=1)
    )
    text = (
        "**Yes, at high volumes.** Self-hosting is cheaper once traffic is large [1]:\n\n"
        "- the hardware is a *fixed* cost, spread over many calls [2];\n"
        "- per-token fees keep growing with every request [1].\n\n"
        "It also keeps data on your own machines [3]. "
        "See [the pricing page](https://example.org/pricing) for the API side."
    )
    return Answer(
        "Is self-hosting cheaper at high volumes?",
        text,
        cites,
        tuple(hits),
        "local",
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        {"total_s": 6.4},
        evidence=Evidence(cites[:2], 0.4),
    )


def screenshot(page: str, png: Path) -> None:
    """`page` rendered by Debian's headless Chromium, as the e2e tests launch it."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 760, "height": 400}, device_scale_factor=2)
        tab.set_content(page)
        tab.locator(".message").screenshot(path=str(png))
        browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder for JSON and PNG")
    parser.add_argument("--blocks", type=Path, help="render these blocks instead of the sample")
    parser.add_argument("--html", type=Path, help="write the HTML page here and stop")
    args = parser.parse_args(argv)
    if args.blocks:
        blocks = json.loads(args.blocks.read_text(encoding="utf-8"))
    else:
        blocks = answer_blocks(sample_answer(), feedback_id="example-feedback-id")
        dumped = json.dumps(blocks, indent=2, ensure_ascii=False) + "\n"
        (args.out / "slack_answer_blocks.json").write_text(dumped, encoding="utf-8")
    page = page_html(blocks)
    if args.html:
        args.html.write_text(page, encoding="utf-8")
        return
    screenshot(page, args.out / "slack_answer.png")


if __name__ == "__main__":
    main()
