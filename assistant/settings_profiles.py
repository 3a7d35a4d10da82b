"""Backend profile settings: one named backend each (`ProfileSettings`), the built-in ones, and
the kinds a profile may name. Part of the settings tree (`assistant/settings.py`), kept apart
so that the tree stays readable."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

# What a profile's `kind` may name; tests add to it with `profiles.register_kind_for_tests`.
PROFILE_KINDS: set[str] = {"local", "local-small", "openai", "anthropic", "local-server"}

# Model servers on this machine, each a built-in profile of kind `local-server` at its usual
# address; one setting, the model's name on the server, makes one usable. (Profile names
# without hyphens: `export KB_PROFILES__LMSTUDIO__MODEL=...` is a valid shell variable.)
LOCAL_SERVERS: dict[str, str] = {
    "ollama": "http://127.0.0.1:11434/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
}
LOCAL_SERVER_LABELS = {
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "vllm": "vLLM",
    "llamacpp": "llama.cpp server",
}
LOCAL_SERVER_TIMEOUT_S = 120.0  # a model server on CPUs reads a long prompt slowly


def one_of(value: str | None, known: set[str], what: str) -> str | None:
    """`value` when it is one of `known` (or None), else a ValueError listing them."""
    if value is not None and value not in known:
        raise ValueError(f"unknown {what} {value!r}: choose one of {', '.join(sorted(known))}")
    return value


class ProfileSettings(BaseModel):
    """One named backend. Keys are never stored here: `api_key_env` names the variable."""

    kind: str | None = Field(
        None,
        description="`local` (the llm.* GGUF), `local-small` (SmolLM2-135M), `openai` (any "
        "OpenAI-compatible API), `anthropic`, `local-server` (a model server you run: Ollama, "
        "LM Studio, vLLM, llama.cpp's server)",
    )
    label: str | None = Field(None, description="name shown on the page")
    model: str | None = Field(
        None,
        description="hosted: the model name sent to the API; local: a packaged GGUF "
        "(qwen2.5-coder-1.5b, qwen2.5-coder-0.5b), default llm.model; local-server: the "
        "model's name on the server (`kb models list` shows them)",
    )
    base_url: str | None = Field(None, description="API root, e.g. http://127.0.0.1:8000/v1")
    base_urls: list[str] = Field(
        [],
        description="kind openai: several servers of the same model, questions spread across "
        'them (e.g. \'["http://10.0.0.1:8000/v1","http://10.0.0.2:8000/v1"]\'); base_url too',
    )
    api_key_env: str | None = Field(
        None, description="environment (or .env) variable holding the key; none: no key needed"
    )
    timeout_s: float = Field(
        30.0, gt=0, description="per request; a silent server costs this times (retries + 1)"
    )
    max_retries: int = Field(2, ge=0, description="retries with backoff on 429, 5xx, connection")
    price_in_per_mtok: float | None = Field(None, ge=0, description="USD per 1M prompt tokens")
    price_out_per_mtok: float | None = Field(None, ge=0, description="USD per 1M reply tokens")
    local: bool | None = Field(
        None,
        description="kind local-server: count as local for privacy routing (auto keeps private "
        "questions here, local-only passages may go here); default: when every server URL is "
        "loopback",
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str | None) -> str | None:
        return one_of(kind, PROFILE_KINDS, "profile kind")

    def servers(self) -> list[str]:
        """Every server of the profile: `base_url`, then `base_urls`, each once."""
        urls = ([self.base_url] if self.base_url else []) + self.base_urls
        return list(dict.fromkeys(urls))


def local_server_presets() -> dict[str, ProfileSettings]:
    """One `local-server` profile per known server at its usual address, without a model:
    unusable until `KB_PROFILES__<NAME>__MODEL` names one."""
    return {
        name: ProfileSettings(
            kind="local-server",
            label=f"Local server: {LOCAL_SERVER_LABELS[name]}",
            base_url=url,
            timeout_s=LOCAL_SERVER_TIMEOUT_S,
        )
        for name, url in LOCAL_SERVERS.items()
    }


def default_profiles() -> dict[str, ProfileSettings]:
    """The built-in backend profiles: local, local-fast, local-small, openai, anthropic, and
    the local-server presets (ollama, lmstudio, vllm, llamacpp)."""
    return {
        "local": ProfileSettings(kind="local", label="Local: Qwen2.5-Coder-1.5B"),
        "local-fast": ProfileSettings(
            kind="local", model="qwen2.5-coder-0.5b", label="Local: Qwen2.5-Coder-0.5B (fast)"
        ),
        "local-small": ProfileSettings(
            kind="local-small", label="Local: SmolLM2-135M (fast, weak)"
        ),
        "openai": ProfileSettings(
            kind="openai",
            label="Hosted: OpenAI",
            model="gpt-4o-mini",
            api_key_env="OPENAI_API_KEY",
            price_in_per_mtok=0.15,
            price_out_per_mtok=0.60,
        ),
        "anthropic": ProfileSettings(
            kind="anthropic",
            label="Hosted: Anthropic",
            model="claude-haiku-4-5",
            api_key_env="ANTHROPIC_API_KEY",
            price_in_per_mtok=1.00,
            price_out_per_mtok=5.00,
        ),
        **local_server_presets(),
    }
