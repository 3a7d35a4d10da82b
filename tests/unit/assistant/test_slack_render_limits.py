"""The Slack stand-in refuses what Slack refuses, and a long answer with many sources renders
into blocks it accepts, split only at whitespace."""

import json
from typing import Any

import pytest

from assistant.answering.models import Answer, Citation, Evidence
from assistant.frontends.slack import render
from index.models import Hit
from ingest.models import Chunk
from tests.support.slack_api import Recorder

SENTENCE = "Self-hosting open models is cheaper at very high volumes than per-token API fees [{n}]."


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(**over: str) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": "👍"}, "action_id": "a"}
    return {"type": "actions", "elements": [{**button, "value": "v", **over}]}


REFUSED = [
    ("chat.postMessage", {"blocks": [_section("x")] * 51}, "invalid_blocks", "/blocks"),
    ("chat.update", {"blocks": [_section("x" * 3001)]}, "invalid_blocks", "/blocks/0/text/text"),
    (
        "chat.postEphemeral",
        {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "s"}] * 11}]},
        "invalid_blocks",
        "/blocks/0/elements",
    ),
    (
        "chat.postMessage",
        {"blocks": [_button(value="v" * 2001)]},
        "invalid_blocks",
        "/blocks/0/elements/0/value",
    ),
    (
        "chat.postMessage",
        {"blocks": [_button(action_id="a" * 256)]},
        "invalid_blocks",
        "/blocks/0/elements/0/action_id",
    ),
    (
        "chat.postMessage",
        {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
        "invalid_blocks",
        "/blocks/0/text/text",
    ),
    ("chat.postMessage", {"blocks": [{"type": "section"}]}, "invalid_blocks", "/blocks/0"),
    ("chat.postMessage", {"text": "x" * 40_001}, "msg_too_long", None),
    ("chat.update", {"text": ""}, "no_text", None),
    ("chat.postMessage", {"blocks": [_section("x " * 1500)] * 5}, "msg_blocks_too_long", None),
    (
        "views.publish",
        {"view": json.dumps({"type": "home", "blocks": [_section("x")] * 101})},
        "invalid_blocks",
        "/blocks",
    ),
]


@pytest.mark.parametrize(("method", "args", "error", "pointer"), REFUSED)
def test_the_stand_in_refuses_what_slack_refuses(
    method: str, args: dict[str, Any], error: str, pointer: str | None
) -> None:
    recorder = Recorder()
    reply = recorder.add(method, {"channel": "C1", **args})
    assert reply["ok"] is False and reply["error"] == error
    if pointer:
        messages = reply["response_metadata"]["messages"]
        assert any(m.startswith("[ERROR] ") and f"[json-pointer:{pointer}]" in m for m in messages)
    assert recorder.of(method)  # recorded all the same


def test_the_stand_in_accepts_what_slack_accepts() -> None:
    recorder = Recorder()
    home = {"type": "home", "blocks": [_section("x")] * 100}
    assert recorder.add("views.publish", {"user_id": "U1", "view": home})["ok"]
    assert recorder.add("chat.postMessage", {"channel": "C", "blocks": [_section("x")] * 50})["ok"]
    assert recorder.add("chat.postMessage", {"channel": "C", "text": "x" * 40_000})["ok"]
    assert recorder.add("chat.update", {"channel": "C", "blocks": [_button(value="v" * 2000)]})[
        "ok"
    ]


def _long_answer() -> Answer:
    """About 6,000 characters over 12 paragraphs, citing 10 passages."""
    hits = [
        Hit(
            Chunk(
                n, f"docs/guide-{n}.pdf", f"Guide {n}", ("Costs", "Volume"), n, 0, 400, "p " * 200
            ),
            0.1,
        )
        for n in range(1, 11)
    ]
    paragraphs = [
        " ".join(SENTENCE.format(n=1 + (p + s) % 10) for s in range(6)) for p in range(12)
    ]
    text = "\n\n".join(f"**Point {p + 1}.** {para}" for p, para in enumerate(paragraphs))
    cites = tuple(
        Citation(n, h, "x", "Self-hosting is cheaper " * 12) for n, h in enumerate(hits, 1)
    )
    return Answer(
        "Is self-hosting cheaper?",
        text,
        cites,
        tuple(hits),
        "local",
        "Qwen",
        {"total_s": 9.0},
        evidence=Evidence(cites[:3], 0.3),
    )


def test_a_6000_character_answer_with_10_sources_is_valid_and_nothing_is_lost() -> None:
    answer = _long_answer()
    assert 5900 <= len(answer.text) <= 6500
    blocks = render.answer_blocks(answer, "fb-1")
    recorder = Recorder()
    reply = recorder.add(
        "chat.update",
        {"channel": "C", "ts": "1", "text": render.fallback_text(answer), "blocks": blocks},
    )
    assert reply["ok"], reply
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]  # after evidence
    assert len(sections) >= 3  # split: 6,000 characters do not fit one section
    whole = render.answer_mrkdwn(answer)
    assert whole.split() == " ".join(sections).split()  # every cut at whitespace, all in order
    offset = 0
    for piece in sections:  # each piece is the next stretch of the text, cut where space was
        offset = whole.index(piece, offset) + len(piece)
        assert offset == len(whole) or whole[offset].isspace()
    sources = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]][:-1]
    assert [s.split("]")[0] for s in sources] == [f"*[{n}" for n in range(1, 11)]
    assert all("Guide" in s and "page" in s and "\n> " in s for s in sources)
