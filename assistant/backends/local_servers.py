"""Model servers you run yourself (Ollama, LM Studio, vLLM, llama.cpp's server) behind a
`local-server` profile: whether their URLs stay on this machine (privacy routing), which models
a server offers (`GET /v1/models`), and its context window, read the way each server tells it
(server_windows.py). Quick looks only, for `kb doctor` and `kb models list`: nothing here
generates text, and chat goes through the OpenAI-compatible client (profiles.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from assistant.backends.server_windows import Window, find_window, same_model
from assistant.settings_profiles import ProfileSettings

CHECK_TIMEOUT_S = 3.0  # a server on this machine answers a listing at once, or is not there
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}
ROOMY_WINDOW = 8192  # what the advice suggests at least: kb's prompt and a long conversation


def on_loopback(urls: Sequence[str]) -> bool:
    """Whether there is a URL and every one names this machine's loopback (127.0.0.0/8, ::1,
    `localhost`); a name that needs looking up does not count, whatever it resolves to."""
    return bool(urls) and all(_loopback_host(urlsplit(url).hostname) for url in urls)


def _loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def server_root(base_url: str) -> str:
    """The server's address without the OpenAI API's `/v1`: where Ollama's `/api/...` and
    llama.cpp's `/props` live."""
    url = base_url.rstrip("/")
    return url.removesuffix("/v1")


@dataclass(frozen=True)
class ModelList:
    """What `GET /v1/models` said: the model ids, or why there is no answer."""

    reachable: bool
    models: tuple[str, ...] = ()
    entries: tuple[dict[str, Any], ...] = ()  # the raw entries: vLLM's carry max_model_len
    error: str | None = None


def _client(key: SecretStr | None, timeout_s: float) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
    return httpx.Client(headers=headers, timeout=timeout_s)


def list_models(
    base_url: str, key: SecretStr | None = None, timeout_s: float = CHECK_TIMEOUT_S
) -> ModelList:
    """The models a server offers, from `GET {base_url}/models`."""
    with _client(key, timeout_s) as client:
        return _list_models(client, base_url)


def _list_models(client: Any, base_url: str) -> ModelList:
    import httpx

    try:
        response = client.get(f"{base_url.rstrip('/')}/models")
    except httpx.HTTPError as exc:
        return ModelList(False, error=f"not reachable ({type(exc).__name__})")
    if response.status_code != 200:
        return ModelList(False, error=f"GET /models answered HTTP {response.status_code}")
    try:
        data = response.json().get("data") or []
    except (ValueError, AttributeError):
        return ModelList(False, error="GET /models did not answer an OpenAI-style model list")
    entries = tuple(e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str))
    return ModelList(True, tuple(e["id"] for e in entries), entries)


@dataclass(frozen=True)
class ServerCheck:
    """One local server as `kb doctor` shows it: does it answer, which models it offers,
    whether the profile's model is one, its context window and where that number came from,
    whether the window holds kb's prompt, and what to do when something is wrong."""

    url: str
    reachable: bool
    needed: int  # tokens kb's prompt and answer need (llm.n_ctx)
    error: str | None = None
    models: tuple[str, ...] = ()
    model: str | None = None
    model_present: bool | None = None
    window: int | None = None
    window_source: str | None = None
    fits: bool | None = None
    advice: str | None = None

    def as_dict(self) -> dict[str, object]:
        """For `kb doctor --json` and its text; empty fields left out."""
        report = asdict(self)
        report["models"] = list(self.models)
        return {key: value for key, value in report.items() if value is not None}


def check_server(
    profile: ProfileSettings,
    prompt_tokens_needed: int,
    key: SecretStr | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> ServerCheck:
    """The profile's (first) server: its models, whether the profile's model is there, and
    its context window against `prompt_tokens_needed`. Each request waits at most `timeout_s`."""
    url = (profile.servers() or [""])[0]
    if not url:
        return ServerCheck("", False, prompt_tokens_needed, "no base_url: set the server's URL")
    with _client(key, timeout_s) as client:
        listed = _list_models(client, url)
        if not listed.reachable:
            return ServerCheck(url, False, prompt_tokens_needed, listed.error)
        window = _window_of(client, url, profile.model, listed)
    return _verdict(url, profile.model, listed, window, prompt_tokens_needed)


def offered(model: str, listed: ModelList) -> dict[str, Any] | None:
    """The `/v1/models` entry of `model`, or None when the server does not offer it."""
    return next((e for e in listed.entries if same_model(model, e["id"])), None)


def _window_of(client: Any, url: str, model: str | None, listed: ModelList) -> Window | None:
    entry = offered(model, listed) if model else None
    return find_window(client, server_root(url), model, entry) if model and entry else None


def _verdict(
    url: str, model: str | None, listed: ModelList, window: Window | None, needed: int
) -> ServerCheck:
    present = None if model is None else offered(model, listed) is not None
    fits = None if window is None else window.tokens >= needed
    return ServerCheck(
        url,
        True,
        needed,
        models=listed.models,
        model=model,
        model_present=present,
        window=window.tokens if window else None,
        window_source=window.source if window else _unreported(present),
        fits=fits,
        advice=advice(model, present, listed.models, window, needed),
    )


def _unreported(present: bool | None) -> str | None:
    return "not reported by the server" if present else None


def suggested_window(needed: int) -> int:
    """A window to ask for: the next power of two that holds `needed`, at least 8192."""
    size = ROOMY_WINDOW
    while size < needed:
        size *= 2
    return size


def advice(
    model: str | None,
    present: bool | None,
    models: Sequence[str],
    window: Window | None,
    needed: int,
) -> str | None:
    """What to do, when something needs doing: choose a model the server has, or give the
    server a window that holds kb's prompt (how, for the server it is)."""
    names = ", ".join(models) or "none"
    if model is None:
        return f"choose a model: set the profile's model to one of: {names}"
    if not present:
        return (
            f"the server has no model {model!r} (it offers: {names}); Ollama: `ollama pull {model}`"
        )
    if window is None:
        return _unknown_window_advice(needed)
    if window.tokens >= needed:
        return None
    if window.server == "ollama":
        return ollama_advice(model, window.tokens, needed)
    return (
        f"its context window ({window.tokens} tokens) is smaller than kb's prompt needs "
        f"({needed}): restart it with a larger one (llama.cpp's llama-server: "
        f"-c {suggested_window(needed)}; vLLM: --max-model-len {suggested_window(needed)}; "
        "LM Studio: the model's context length when loading it)"
    )


def ollama_advice(model: str, window: int, needed: int) -> str:
    """How to give an Ollama model a larger window: its OpenAI-compatible API takes no
    `num_ctx`, so the server or the model has to carry it."""
    size = suggested_window(needed)
    return (
        f"Ollama gives {model} a {window}-token window and cuts longer prompts silently; kb's "
        f"prompt needs {needed}. Either start Ollama with a larger default "
        f"(`OLLAMA_CONTEXT_LENGTH={size} ollama serve`), or make a model that carries one: a "
        f"Modelfile with `FROM {model}` and `PARAMETER num_ctx {size}`, then "
        f"`ollama create {model.split(':')[0]}-{size // 1024}k -f Modelfile` and use that model"
    )


def _unknown_window_advice(needed: int) -> str:
    return (
        f"the server does not say its context window: make sure it holds at least {needed} "
        f"tokens (python -m llama_cpp.server: --n_ctx {needed}, its default is 2048; "
        f"llama-server: -c {needed}; vLLM: --max-model-len {needed})"
    )
