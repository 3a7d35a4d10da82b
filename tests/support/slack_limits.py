"""Slack's Web API checks on what a message or view carries, so the stand-in fails the way
Slack does: `invalid_blocks` (with `[ERROR] … [json-pointer:/blocks/N/…]` messages),
`msg_too_long`, `msg_blocks_too_long`, `no_text`.

The limits, from Slack's documentation:
- https://api.slack.com/reference/block-kit/blocks: "up to 50 blocks in each message, and 100
  blocks in modals or Home tabs"; section `text` "Maximum length … is 3000 characters", a
  section needs `text` or `fields` (at most 10 fields of 2000 characters); context `elements`
  "Maximum number of items is 10"; actions at most 25 elements; header text 150 characters;
  `block_id` 255 characters, unique within a message.
- https://api.slack.com/reference/block-kit/block-elements#button: `action_id` 255 characters,
  `value` 2000, button text 75.
- https://api.slack.com/methods/chat.postMessage (errors `invalid_blocks`, `msg_too_long`,
  `no_text`); https://api.slack.com/changelog/2018-04-truncating-really-long-messages: the
  `text` field holds up to 40,000 characters.
- `msg_blocks_too_long`: Slack refuses a message whose blocks hold more than about 12,000
  characters of text in all (undocumented; slackapi/bolt-js#2509 and #2867 measured it, a
  Slack engineer there: "12,000 text characters with a buffer for block containers"). Checked
  here as the sum of the blocks' text strings, a lower bound of what Slack counts.
- What Slack answers for a section over 3,000 characters (quoted in a public bug report):
  `{'ok': False, 'error': 'invalid_blocks', 'errors': ['must be less than 3001 characters
  [json-pointer:/blocks/0/text/text]'], 'response_metadata': {'messages': ['[ERROR] must be
  less than 3001 characters [json-pointer:/blocks/0/text/text]']}}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

CHECKED = {"chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish", "response_url"}
TEXT_CHARS = 40_000
BLOCKS_TEXT_CHARS = 12_000
BLOCKS = {"message": 50, "home": 100, "modal": 100}
SECTION_TEXT, FIELD_TEXT, FIELDS = 3000, 2000, 10
CONTEXT_ELEMENTS, ACTIONS_ELEMENTS = 10, 25
HEADER_TEXT, BUTTON_TEXT, BUTTON_VALUE, ID_CHARS = 150, 75, 2000, 255
KNOWN = {"section", "context", "actions", "header", "divider", "image", "rich_text", "input"}


def slack_error(method: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Slack's error reply to `method` called with `args`, or None when Slack would accept it."""
    if method not in CHECKED:
        return None
    if method == "views.publish":
        view = _json(args.get("view")) or {}
        return _blocks_error(_json(view.get("blocks")) or [], BLOCKS.get(view.get("type"), 100))
    text, blocks = args.get("text") or "", _json(args.get("blocks")) or []
    if not text and not blocks:
        return {"ok": False, "error": "no_text"}
    if len(text) > TEXT_CHARS:
        return {"ok": False, "error": "msg_too_long"}
    if error := _blocks_error(blocks, BLOCKS["message"]):
        return error
    if sum(len(t) for t in _texts(blocks)) > BLOCKS_TEXT_CHARS:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


def _texts(value: Any) -> Iterator[str]:
    """Every `text` string anywhere in `value` (a text object's, nested ones included)."""
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            yield value["text"]
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _blocks_error(blocks: list[dict[str, Any]], most: int) -> dict[str, Any] | None:
    problems = list(_problems(blocks, most))
    if not problems:
        return None
    errors = [f"{why} [json-pointer:{where}]" for where, why in problems]
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }


def _problems(blocks: list[dict[str, Any]], most: int) -> Iterator[tuple[str, str]]:
    if len(blocks) > most:
        yield "/blocks", f"no more than {most} items allowed"
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        at = f"/blocks/{n}"
        block_id = block.get("block_id")
        if block_id is not None:
            yield from _too_long(block_id, ID_CHARS, f"{at}/block_id")
            if block_id in seen:
                yield f"{at}/block_id", "duplicate block_id"
            seen.add(block_id)
        yield from _block(block, at)


def _block(block: dict[str, Any], at: str) -> Iterator[tuple[str, str]]:
    kind = block.get("type")
    if kind not in KNOWN:
        yield f"{at}/type", f"unknown block type {kind!r}"
    elif kind == "section":
        yield from _section(block, at)
    elif kind == "context":
        yield from _elements(block, CONTEXT_ELEMENTS, at)
        for i, element in enumerate(block.get("elements") or []):
            if element.get("type") in ("mrkdwn", "plain_text"):
                yield from _text(element, SECTION_TEXT, f"{at}/elements/{i}")
    elif kind == "actions":
        yield from _elements(block, ACTIONS_ELEMENTS, at)
        for i, element in enumerate(block.get("elements") or []):
            yield from _button(element, f"{at}/elements/{i}")
    elif kind == "header":
        yield from _text(block.get("text"), HEADER_TEXT, f"{at}/text", plain=True)


def _section(block: dict[str, Any], at: str) -> Iterator[tuple[str, str]]:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        yield at, "must provide either text or fields"
    if text is not None:
        yield from _text(text, SECTION_TEXT, f"{at}/text")
    if fields and len(fields) > FIELDS:
        yield f"{at}/fields", f"no more than {FIELDS} items allowed"
    for i, field in enumerate(fields or []):
        yield from _text(field, FIELD_TEXT, f"{at}/fields/{i}")


def _elements(block: dict[str, Any], most: int, at: str) -> Iterator[tuple[str, str]]:
    elements = block.get("elements") or []
    if not elements:
        yield f"{at}/elements", "must provide at least 1 item"
    if len(elements) > most:
        yield f"{at}/elements", f"no more than {most} items allowed"


def _button(element: dict[str, Any], at: str) -> Iterator[tuple[str, str]]:
    if element.get("type") != "button":
        return
    yield from _text(element.get("text"), BUTTON_TEXT, f"{at}/text", plain=True)
    yield from _too_long(element.get("action_id") or "", ID_CHARS, f"{at}/action_id")
    yield from _too_long(element.get("value") or "", BUTTON_VALUE, f"{at}/value")


def _text(obj: Any, most: int, at: str, plain: bool = False) -> Iterator[tuple[str, str]]:
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        yield at, f"must be a text object of type {' or '.join(kinds)}"
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield f"{at}/text", "must be more than 0 characters"
        return
    yield from _too_long(text, most, f"{at}/text")


def _too_long(value: str, most: int, at: str) -> Iterator[tuple[str, str]]:
    if len(value) > most:
        yield at, f"must be less than {most + 1} characters"
