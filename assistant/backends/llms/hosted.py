"""Hosted chat APIs: any OpenAI-compatible endpoint (the `openai` SDK) and Anthropic's
Messages API (the `anthropic` SDK), both streaming.

The SDKs retry 429, 5xx and connection failures with exponential backoff (`max_retries`);
what still fails becomes a `BackendError` subclass whose message names the profile, the
status and what to do, and never the key (nor the response body of a rejected key, which
can echo part of it). Clients are built on first use.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import SecretStr

from assistant.backends.llms.base import Message, Usage, UsageCallback, estimate_usage
from assistant.errors import BackendError, BackendTimeoutError, BackendUnavailableError

log = logging.getLogger(__name__)
NO_KEY = "not-needed"  # compatible servers without auth still need a non-empty key
# A reply whose reported prompt is under this share of kb's estimate (about four characters a
# token, over this many tokens) was cut: real tokenizers do not read six or more characters a
# token, while Ollama silently keeps only the first num_ctx tokens of a longer prompt.
TRUNCATED_SHARE = 0.6
TRUNCATION_CHECKED_FROM = 1000
WINDOW_EXCEEDED = re.compile(r"maximum context length is (\d+)")


@dataclass(frozen=True)
class HostedConfig:
    """What a hosted profile connects with: model, endpoint, key and how long to wait."""

    profile: str
    model: str
    base_url: str | None
    api_key: SecretStr | None
    key_env: str | None
    timeout_s: float = 60.0
    max_retries: int = 2

    def key(self) -> str:
        """The API key to send; servers that need none still get a non-empty one."""
        return self.api_key.get_secret_value() if self.api_key else NO_KEY


def redact_url(url: str | None) -> str | None:
    """`url` as shown to people: credentials in it (`user:password@`) and query values
    (`?api-key=...`) become `***`; some servers take their key that way."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"***@{host}" if "@" in parts.netloc else host
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def translate_error(sdk: Any, exc: Exception, config: HostedConfig) -> BackendError:
    """An SDK or transport exception as a kb error that says what happened, without secrets."""
    where = f"{config.profile} ({redact_url(config.base_url) or 'default endpoint'})"
    if isinstance(exc, sdk.APITimeoutError):
        return BackendTimeoutError(f"{where} did not answer within {config.timeout_s:.0f} s")
    if isinstance(exc, sdk.APIConnectionError):
        return BackendUnavailableError(f"cannot reach {where}: connection failed")
    if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
        fix = f"check {config.key_env}" if config.key_env else "the server wants a key"
        rejected = BackendError(f"{where} rejected the API key (HTTP {exc.status_code}); {fix}")
        rejected.status = exc.status_code
        return rejected
    if isinstance(exc, sdk.APIStatusError):
        retried = (
            f" after {config.max_retries} retries"
            if exc.status_code in (429,) or exc.status_code >= 500
            else ""
        )
        error = BackendError(f"{where} answered HTTP {exc.status_code}{retried}{_too_long(exc)}")
        error.status = exc.status_code  # a server pool retries 429 and 5xx elsewhere
        return error
    return BackendUnavailableError(f"{where} failed mid-answer: {type(exc).__name__}")


def _too_long(exc: Any) -> str:
    """For a 400 saying the prompt does not fit (llama_cpp.server's and vLLM's words): the
    window and what to do; '' for anything else. Only the number is taken from the body."""
    match = WINDOW_EXCEEDED.search(str(getattr(exc, "body", "") or ""))
    if exc.status_code != 400 or match is None:
        return ""
    return (
        f": kb's prompt does not fit the server's {match.group(1)}-token context window; "
        "give it a larger one (`kb doctor` says how)"
    )


def warn_if_truncated(
    config: HostedConfig, messages: Sequence[Message], prompt_tokens: int
) -> bool:
    """Log a warning, and say True, when the server reports reading far fewer prompt tokens
    than kb sent: it cut the prompt to fit its context window, so the passages (or the
    question) the answer should come from may be gone."""
    estimate = estimate_usage(messages, "").prompt_tokens
    if estimate <= TRUNCATION_CHECKED_FROM or prompt_tokens >= TRUNCATED_SHARE * estimate:
        return False
    log.warning(
        "%s (%s) read %d prompt tokens of about %d that kb sent: the server probably cut the "
        "prompt to fit its context window. Give it a larger one (Ollama: "
        "`OLLAMA_CONTEXT_LENGTH=8192 ollama serve`, or a model made with `PARAMETER num_ctx "
        "8192`); `kb doctor` shows the window",
        config.profile,
        redact_url(config.base_url) or "default endpoint",
        prompt_tokens,
        estimate,
    )
    return True


def _cached(usage: Any) -> int:
    """Prompt tokens a server says it took from its cache. Counted on top of `prompt_tokens`,
    which should already include them, because some servers' counts have left them out: a
    cache hit must not look like a cut prompt."""
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None)
    return cached if isinstance(cached, int) else 0


class _HostedChatModel:
    """What both hosted backends share: the profile's config and an SDK client built on first
    use; a subclass names its SDK's client class and streams in that SDK's dialect."""

    def __init__(self, config: HostedConfig):
        self._config = config
        self._client: Any = None

    @property
    def backend(self) -> str:
        return self._config.profile

    @property
    def model(self) -> str:
        return self._config.model

    def _sdk_client(self) -> Any:
        if self._client is None:
            c = self._config
            self._client = self._new_client(
                api_key=c.key(), base_url=c.base_url, timeout=c.timeout_s, max_retries=c.max_retries
            )
        return self._client

    def _new_client(self, **options: Any) -> Any:
        """The SDK's client built with `options` (the SDK is imported here, on first use)."""
        raise NotImplementedError


class OpenAICompatibleChatModel(_HostedChatModel):
    """OpenAI, vLLM, Ollama, LM Studio, llama.cpp's server: anything speaking /v1/chat."""

    def _new_client(self, **options: Any) -> Any:
        import openai

        return openai.OpenAI(**options)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        """Stream the reply from chat completions; a stream that ends unfinished is an error."""
        import httpx
        import openai

        reply: list[str] = []
        usage, finished = None, False
        try:
            chunks = self._sdk_client().chat.completions.create(
                model=self._config.model,
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(stop) or None,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in chunks:
                usage = chunk.usage or usage
                finished = finished or any(c.finish_reason for c in chunk.choices)
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    reply.append(text)
                    yield text
        except (openai.APIError, httpx.HTTPError) as exc:
            raise translate_error(openai, exc, self._config) from None
        if not finished:  # a dropped connection can look like the end of the stream
            raise BackendUnavailableError(
                f"{self._config.profile} failed mid-answer: the stream ended without finishing"
            )
        if usage and usage.prompt_tokens:  # 0: nothing reported (older Ollama on a cache hit)
            warn_if_truncated(self._config, messages, usage.prompt_tokens + _cached(usage))
        if on_usage:
            on_usage(
                Usage(usage.prompt_tokens, usage.completion_tokens)
                if usage
                else estimate_usage(messages, "".join(reply))
            )


class AnthropicChatModel(_HostedChatModel):
    """Anthropic's Messages API; system messages go in its separate `system` field."""

    def _new_client(self, **options: Any) -> Any:
        import anthropic

        return anthropic.Anthropic(**options)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        """Stream the reply from the Messages API; the model's default temperature applies."""
        import anthropic
        import httpx

        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [dict(m) for m in messages if m["role"] != "system"]
        options: dict[str, Any] = {"system": system} if system else {}
        if stop:
            options["stop_sequences"] = list(stop)
        try:
            # anthropic 2.x takes no sampling temperature: the model's default applies
            with self._sdk_client().messages.stream(
                model=self._config.model,
                max_tokens=max_tokens,
                messages=turns,
                **options,
            ) as stream:
                for text in stream.text_stream:
                    if text:
                        yield text
                final = stream.get_final_message()
        except (anthropic.APIError, httpx.HTTPError) as exc:
            raise translate_error(anthropic, exc, self._config) from None
        if on_usage:
            on_usage(Usage(final.usage.input_tokens, final.usage.output_tokens))
