"""A model server's context window, asked the way each server tells it. The OpenAI API has
no field for it, so each server has its own:

- vLLM: `max_model_len` in each `GET /v1/models` entry.
- llama.cpp's C++ `llama-server`: `meta.n_ctx` in the `/v1/models` entry, or
  `default_generation_settings.n_ctx` in `GET /props`.
- Ollama: the loaded model's `context_length` in `GET /api/ps` (recent versions); else
  `num_ctx` among the model's parameters (`POST /api/show`); else Ollama's default for its
  version (`GET /api/version`): 2048 before 0.6.7, 4096 since (per its release notes; since
  0.15.5 picked by GPU memory, 4096 at least). The OpenAI-compatible endpoint takes no `num_ctx`, and Ollama cuts a
  longer prompt without an error: the reason to look.
- LM Studio: `loaded_context_length` in `GET /api/v0/models/{model}` (its REST API).
- llama-cpp-python's `python -m llama_cpp.server` says nothing: the window stays unknown.

Each question is one request with the caller's short timeout; a server that does not know a
path answers 404 at once. Nothing here generates text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OLLAMA_DEFAULTS = ((0, 6, 7), 4096, 2048)  # from this version on, this default; before, that


@dataclass(frozen=True)
class Window:
    """A context window in tokens, where the number came from, and which server said it."""

    tokens: int
    source: str
    server: str  # ollama, vllm, llama-server, lmstudio: the advice is server-specific


def find_window(client: Any, root: str, model: str, entry: dict[str, Any]) -> Window | None:
    """The window `model` gets on the server at `root` (`entry`: its `/v1/models` entry), or
    None when the server does not say."""
    finders: list[Callable[[], Window | None]] = [
        lambda: _from_entry(entry),
        lambda: _from_props(client, root),
        lambda: _from_ollama(client, root, model),
        lambda: _from_lmstudio(client, root, model),
    ]
    for finder in finders:
        window = finder()
        if window is not None:
            return window
    return None


def same_model(asked: str, listed: object) -> bool:
    """Whether a server listing `listed` serves `asked`: Ollama reads `qwen2.5` as
    `qwen2.5:latest`."""
    if not isinstance(listed, str):
        return False
    return asked == listed or (":" not in asked and listed == f"{asked}:latest")


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _get(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON a GET (or, with `body`, a POST) answers, or None: any failure means only that
    this server does not tell the window this way."""
    import httpx

    try:
        response = client.post(url, json=body) if body is not None else client.get(url)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def _from_entry(entry: dict[str, Any]) -> Window | None:
    vllm = _positive(entry.get("max_model_len"))
    if vllm:
        return Window(vllm, "max_model_len in GET /v1/models (vLLM)", "vllm")
    meta = entry.get("meta")
    n_ctx = _positive(meta.get("n_ctx")) if isinstance(meta, dict) else None
    if n_ctx:
        return Window(n_ctx, "meta.n_ctx in GET /v1/models (llama-server)", "llama-server")
    return None


def _from_props(client: Any, root: str) -> Window | None:
    props = _get(client, f"{root}/props")
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    n_ctx = _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
    n_ctx = n_ctx or _positive(props.get("n_ctx"))
    return Window(n_ctx, "n_ctx in GET /props (llama-server)", "llama-server") if n_ctx else None


def _from_ollama(client: Any, root: str, model: str) -> Window | None:
    version = _get(client, f"{root}/api/version")
    if not isinstance(version, dict) or not isinstance(version.get("version"), str):
        return None  # not Ollama
    return (
        _ollama_loaded(client, root, model)
        or _ollama_num_ctx(client, root, model)
        or _ollama_default(version["version"])
    )


def _ollama_loaded(client: Any, root: str, model: str) -> Window | None:
    running = _get(client, f"{root}/api/ps")
    entries = running.get("models") if isinstance(running, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and same_model(model, entry.get("name") or entry.get("model")):
            tokens = _positive(entry.get("context_length"))
            if tokens:
                return Window(
                    tokens, "context_length of the loaded model (Ollama /api/ps)", "ollama"
                )
    return None


def _ollama_num_ctx(client: Any, root: str, model: str) -> Window | None:
    shown = _get(client, f"{root}/api/show", {"model": model})
    parameters = shown.get("parameters") if isinstance(shown, dict) else None
    match = re.search(r"^\s*num_ctx\s+(\d+)", parameters or "", re.MULTILINE)
    if match and int(match.group(1)) > 0:
        return Window(
            int(match.group(1)), "num_ctx in the model's parameters (Ollama /api/show)", "ollama"
        )
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _ollama_default(version: str) -> Window:
    since, newer, older = OLLAMA_DEFAULTS
    tokens = newer if _version(version) >= since else older
    source = (
        f"Ollama {version}'s default (assumed: the model sets no num_ctx and is not loaded; "
        "OLLAMA_CONTEXT_LENGTH on the server changes it)"
    )
    return Window(tokens, source, "ollama")


def _from_lmstudio(client: Any, root: str, model: str) -> Window | None:
    described = _get(client, f"{root}/api/v0/models/{model}")
    tokens = (
        _positive(described.get("loaded_context_length")) if isinstance(described, dict) else None
    )
    return (
        Window(tokens, "loaded_context_length (LM Studio /api/v0)", "lmstudio") if tokens else None
    )
