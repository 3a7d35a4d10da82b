"""kb's OpenAI-compatible API on the page's server: `GET /v1/models` and
`POST /v1/chat/completions`, streamed or not, answered by the same assistant, backends and busy
gate as the page. Stateless: the request's message list is the whole conversation.

Each backend profile is a model (`kb-local`, `kb-auto`, ...). A streamed reply sends its role
at once, the evidence as soon as it is chosen (in the `kb` field of a chunk with no content),
then the answer's text once kb has checked it (citations attributed, numbers found in the
passages, refusals made): a client never shows text that kb then takes back. The wire format
is `openai_shapes`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from assistant.access import AccessDeniedError, Caller, GrantBook, narrow
from assistant.answering.models import Answer, AnswerStream, Evidence
from assistant.answering.pipeline import Assistant
from assistant.errors import KbError
from assistant.frontends.web.busy import BusyGate
from assistant.frontends.web.events import PageParts
from assistant.frontends.web.openai_shapes import (
    MODEL_PREFIX,
    STREAM_END,
    ApiError,
    ChatRequest,
    ChunkMaker,
    completion,
    model_object,
    read_chat_request,
    sse,
)
from assistant.session import Scope
from assistant.telemetry.metrics import observe_answer, observe_busy

log = logging.getLogger(__name__)

WORDS_PER_CHUNK = 4  # a checked answer is sent in small pieces, as a model's tokens would be


@dataclass(frozen=True)
class ApiAccess:
    """Who may call the API and MCP: anyone on loopback without tokens; else a bearer token,
    whose entry (`token`, `name:token`, `name:token:coll1+coll2`; `access.parse_grants`) says
    which collections its caller may see."""

    tokens: tuple[str, ...] = ()
    loopback: bool = True
    retry_after_s: int = 30  # the Retry-After of a busy page's 429
    tokens_file: Path | None = None
    book: GrantBook = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "book", GrantBook(self.tokens, self.tokens_file))

    def check(self, request: Request) -> None:
        """Raise OpenAI's 401 unless the request may call the API."""
        self.caller(request)

    def caller(self, request: Request, surface: str = "api") -> Caller:
        """Who sent `request`, with its token's collections; OpenAI's 401 when nobody may."""
        if not self.tokens and self.tokens_file is None:
            if self.loopback:
                return Caller(surface, "loopback")
            raise ApiError(
                401,
                "The API needs a token off loopback: set KB_API__TOKENS (environment or .env) "
                "and send it as 'Authorization: Bearer <token>'.",
                code="invalid_api_key",
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(
                401,
                "You didn't provide an API key: send 'Authorization: Bearer <token>' with one of "
                "the tokens in KB_API__TOKENS.",
            )
        grant = self.book.match(given.strip())
        if grant is None:
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        return Caller(surface, grant.name, grant.collections)


def api_router(parts: PageParts, access: ApiAccess) -> APIRouter:
    """The `/v1` routes over the page's parts."""
    router = APIRouter(prefix="/v1")
    started = int(time.time())

    @router.get("/models")
    def models(request: Request) -> Response:
        return _replying(
            lambda: {"object": "list", "data": _models(parts, started)}, access, request
        )

    @router.get("/models/{name}")
    def model(name: str, request: Request) -> Response:
        def found() -> dict[str, object]:
            _profile(parts, name)
            return next(m for m in _models(parts, started) if m["id"] == name)

        return _replying(found, access, request)

    @router.post("/chat/completions")
    async def chat(request: Request) -> Response:
        try:
            caller = access.caller(request)
            wanted = read_chat_request(await request.body())
            profile = _profile(parts, wanted.model)
            asking = _asking(parts, wanted, profile, caller)
            if not parts.gate.take():
                observe_busy(profile)
                raise _busy(access)
        except ApiError as error:
            return _error(error)
        if wanted.stream:
            place = _Place(parts.gate)
            events = _streamed(asking, wanted, place, parts)
            # The stream gives its place back when it ends; a client gone before it started
            # never runs it, so the response's background task gives it back too (once).
            background = BackgroundTask(place.release)
            return StreamingResponse(events, media_type="text/event-stream", background=background)
        return await run_in_threadpool(_answered, asking, wanted, parts)

    return router


def _replying(make: object, access: ApiAccess, request: Request) -> Response:
    try:
        access.check(request)
        return JSONResponse(make())  # type: ignore[operator]
    except ApiError as error:
        return _error(error)


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


def _busy(access: ApiAccess) -> ApiError:
    return ApiError(
        429,
        "kb is busy answering other questions; try again later.",
        kind="requests",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(access.retry_after_s)},
    )


def _models(parts: PageParts, started: int) -> list[dict[str, object]]:
    return [
        model_object(c.name, started, c.label, c.hosted)
        for c in parts.session.pool.choices
        if c.available
    ]


def _profile(parts: PageParts, model: str) -> str:
    """The profile behind model `model`; OpenAI's 404 for one kb does not serve."""
    name = model.removeprefix(MODEL_PREFIX) if model.startswith(MODEL_PREFIX) else ""
    choice = next((c for c in parts.session.pool.choices if c.name == name), None)
    if choice is None or not choice.available:
        why = f" ({choice.label} is unavailable: {choice.reason})" if choice else ""
        raise ApiError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.{why} "
            "GET /v1/models lists the models kb serves.",
            code="model_not_found",
        )
    return name


@dataclass(frozen=True)
class _Asking:
    """One request's question: who asks, what it searches, and the assistant that answers."""

    caller: Caller
    scope: Scope
    assistant: Assistant

    def recorded(self, parts: PageParts, answer: Answer) -> str:
        """Audit the answer; the scope line the reply carries."""
        parts.session.audit(answer, self.caller, self.scope)
        return self.caller.scope_line(self.scope.collections)


def _asking(parts: PageParts, wanted: ChatRequest, profile: str, caller: Caller) -> _Asking:
    """The page's assistant, searching the request's collections (never past the caller's)
    with `profile`."""
    try:
        collections = narrow(caller, wanted.collections)
    except AccessDeniedError as exc:
        raise ApiError(403, str(exc), kind="permission_error", param="collections") from None
    known = parts.session.library.collections()
    unknown = [name for name in collections if name not in known]
    if unknown and caller.collections is None:
        raise ApiError(
            400,
            f"Unknown collections: {', '.join(unknown)}; kb has: {', '.join(known)}.",
            param="collections",
        )
    scope = Scope(profile, collections)
    return _Asking(caller, scope, parts.session.answering(scope))


def _answered(asking: _Asking, wanted: ChatRequest, parts: PageParts) -> Response:
    """A whole reply; the busy place is given back once it is made."""
    try:
        answer = asking.assistant.ask(wanted.question, wanted.history)
        observe_answer(answer)
        scope = asking.recorded(parts, answer)
    except KbError as exc:
        log.warning("API answer failed: %s", exc)
        return _error(ApiError(502, f"kb could not answer: {exc}", kind="api_error"))
    finally:
        parts.gate.release()
    return JSONResponse(completion(answer, wanted.model, scope))


class _Place:
    """A busy-gate place given back once, whoever gives it back first."""

    def __init__(self, gate: BusyGate):
        self._gate = gate
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._gate.release()


def _streamed(
    asking: _Asking, wanted: ChatRequest, place: _Place, parts: PageParts
) -> Iterator[str]:
    """A reply as server-sent events; the busy place is given back when it ends (or the client
    goes away)."""
    chunks = ChunkMaker(wanted.model)
    try:
        yield chunks.chunk({"role": "assistant", "content": ""})
        stream = AnswerStream(asking.assistant.stream(wanted.question, wanted.history))
        for event in stream:
            if isinstance(event, Evidence):
                yield chunks.chunk({}, kb={"evidence": event.as_dicts()})
        answer = stream.answer()
        observe_answer(answer)
        scope = asking.recorded(parts, answer)
        yield from _pieces(chunks, answer)
        yield chunks.last(answer, scope)
    except KbError as exc:  # OpenAI's SDKs raise an error event as an APIError
        log.warning("API answer failed: %s", exc)
        yield sse(ApiError(502, f"kb could not answer: {exc}", kind="api_error").body)
    finally:
        place.release()
    yield STREAM_END


def _pieces(chunks: ChunkMaker, answer: Answer) -> Iterator[str]:
    words = answer.text.split(" ")
    for i in range(0, len(words), WORDS_PER_CHUNK):
        piece = " ".join(words[i : i + WORDS_PER_CHUNK])
        yield chunks.chunk({"content": piece if i == 0 else " " + piece})
