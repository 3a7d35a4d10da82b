"""The wire format of OpenAI's chat-completions API, as kb's API speaks it: a request read and
checked, a completion, stream chunks and errors shaped as OpenAI's API shapes them, so its
SDKs and the clients built on them work against kb unchanged.

kb adds one field, `kb`, to a completion and to a stream's last chunk: the `kb ask --json`
object (EVAL.md) less the question and answer, so a client that knows kb gets the cited
passages (source, title, location, text, score) and a client that does not ignores it.
Nothing here knows about HTTP servers or kb's answering.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from assistant.answering.models import Answer
from assistant.backends.llms.base import Message

MODEL_PREFIX = "kb-"  # profile `local` is model `kb-local`


class ApiError(Exception):
    """An error reply: HTTP status and OpenAI's `{"error": {...}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        self.headers = headers or {}


@dataclass(frozen=True)
class ChatRequest:
    """What kb needs from a chat-completions request."""

    model: str
    question: str
    history: list[Message]
    stream: bool = False
    collections: list[str] = field(default_factory=list)  # kb's extension; empty: all


def read_chat_request(body: bytes) -> ChatRequest:
    """The request in `body`, or the `ApiError` OpenAI's API gives for what is wrong with it."""
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"We could not parse the JSON body of your request. ({exc})") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = _required(data, "model", str)
    messages = _required(data, "messages", list)
    if not messages:
        raise ApiError(
            400, "Invalid 'messages': empty array.", param="messages", code="empty_array"
        )
    turns = [_turn(i, message) for i, message in enumerate(messages)]
    question, history = _split_question(turns)
    return ChatRequest(model, question, history, _flag(data, "stream"), _collections(data))


def _required(data: dict[str, Any], name: str, kind: type) -> Any:
    if name not in data or data[name] is None:
        raise ApiError(
            400,
            f"Missing required parameter: '{name}'.",
            param=name,
            code="missing_required_parameter",
        )
    if not isinstance(data[name], kind):
        expected = "a string" if kind is str else "an array"
        raise ApiError(
            400, f"Invalid type for '{name}': expected {expected}.", param=name, code="invalid_type"
        )
    return data[name]


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name) or False
    if not isinstance(value, bool):
        raise ApiError(400, f"Invalid type for '{name}': expected a boolean.", param=name)
    return value


def _collections(data: dict[str, Any]) -> list[str]:
    names = data.get("collections") or []
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ApiError(
            400, "Invalid 'collections': expected an array of names.", param="collections"
        )
    return names


def _turn(i: int, message: Any) -> Message:
    """One message as kb's `Message`; a content given as parts keeps its text parts."""
    where = f"messages[{i}]"
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise ApiError(400, f"Invalid '{where}': expected an object with a 'role'.", param=where)
    content = message.get("content")
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        content = "\n".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    if not isinstance(content, str):
        raise ApiError(400, f"Invalid '{where}.content': expected text.", param=f"{where}.content")
    return {"role": message["role"], "content": content}


def _split_question(turns: list[Message]) -> tuple[str, list[Message]]:
    """The last user message is the question; the user and assistant turns before it are the
    conversation. System and developer messages are not passed on: kb has its own prompt."""
    last = max((i for i, t in enumerate(turns) if t["role"] == "user"), default=None)
    if last is None or not turns[last]["content"].strip():
        raise ApiError(
            400, "Invalid 'messages': expected a user message with a question.", param="messages"
        )
    history = [t for t in turns[:last] if t["role"] in ("user", "assistant")]
    return turns[last]["content"].strip(), history


def model_id(profile: str) -> str:
    """The model name a profile is listed under."""
    return MODEL_PREFIX + profile


def model_object(profile: str, created: int, label: str, hosted: bool) -> dict[str, Any]:
    """One entry of `GET /v1/models`."""
    return {
        "id": model_id(profile),
        "object": "model",
        "created": created,
        "owned_by": "kb",
        "kb": {"profile": profile, "label": label, "hosted": hosted},
    }


def new_completion_id() -> str:
    """An id in OpenAI's form."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def kb_extension(answer: Answer) -> dict[str, Any]:
    """The `kb` field: `kb ask --json`'s object less what the content already says."""
    fields = dict(answer.as_dict())
    fields.pop("answer")
    fields.pop("question")
    return fields


def _usage(answer: Answer) -> dict[str, int]:
    usage = answer.usage or {"prompt_tokens": 0, "completion_tokens": 0}
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion(answer: Answer, model: str, scope: str | None = None) -> dict[str, Any]:
    """A non-streamed reply; a refusal is a normal reply (`kb.refused` says it is one);
    `kb.scope` says what it searched, for whom."""
    message = {"role": "assistant", "content": answer.text, "refusal": None}
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(answer),
        "kb": {**kb_extension(answer), "scope": scope},
    }


@dataclass(frozen=True)
class ChunkMaker:
    """The chunks of one streamed reply: one id, time and model for all of them."""

    model: str
    id: str = field(default_factory=new_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        """One server-sent event holding a `chat.completion.chunk`."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            **extra,
        }
        return sse(body)

    def last(self, answer: Answer, scope: str | None = None) -> str:
        """The closing chunk: finish reason, usage and the `kb` field."""
        kb = {**kb_extension(answer), "scope": scope}
        return self.chunk({}, "stop", usage=_usage(answer), kb=kb)


def sse(body: dict[str, Any]) -> str:
    """`body` as one server-sent event."""
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


STREAM_END = "data: [DONE]\n\n"
