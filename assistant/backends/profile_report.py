"""What `kb doctor` says about the backend profiles: each one's kind and model, whether it is
configured (or what to set), a one-token probe, each server of a pool, and for a local model
server its models and context window (local_servers.py). Kept apart from profiles.py, which
builds the chat models; this only looks at them."""

from __future__ import annotations

import time

from pydantic import SecretStr

from assistant.backends.local_servers import check_server, list_models
from assistant.backends.profiles import (
    LOCAL_KINDS,
    all_profiles,
    availability,
    build_model,
    read_key,
)
from assistant.errors import KbError
from assistant.settings import Settings
from assistant.settings_profiles import ProfileSettings

POOL_CHECK_TIMEOUT_S = 3.0


def probe(name: str, profile: ProfileSettings, settings: Settings) -> dict[str, object]:
    """One-token test of a configured profile: reachable or not, and how long it took. Probes
    of servers (hosted or local-server) wait at most 10 s and do not retry."""
    from assistant.backends.llms.base import complete

    if profile.kind not in LOCAL_KINDS:
        profile = profile.model_copy(
            update={"timeout_s": min(profile.timeout_s, 10), "max_retries": 0}
        )
    started = time.perf_counter()
    try:
        model = build_model(name, profile, settings)
        complete(model, [{"role": "user", "content": "Say OK."}], max_tokens=1)
    except KbError as exc:
        return {"reachable": False, "error": str(exc)}
    return {"reachable": True, "latency_s": round(time.perf_counter() - started, 3)}


def window_needed(settings: Settings) -> int:
    """Tokens a server's context window must hold for kb: `llm.n_ctx`, the window kb's own
    model runs with, which its prompts (passages, conversation, answer) are sized for."""
    return settings.llm.n_ctx


def worth_checking(name: str, profile: ProfileSettings, settings: Settings) -> bool:
    """A local-server profile someone configured: its model set, or any field of it given.
    A built-in preset nobody chose is not looked at: `kb doctor` stays quick."""
    return profile.kind == "local-server" and (bool(profile.model) or name in settings.profiles)


def describe_profiles(settings: Settings, run_probe: bool = True) -> dict[str, dict[str, object]]:
    """For `kb doctor`: each profile's kind, model, whether it is configured, its probe, and
    for a configured local model server what the server offers."""
    from assistant.backends.llms.hosted import redact_url

    report = {}
    for name, profile in all_profiles(settings).items():
        choice = availability(name, profile)
        info: dict[str, object] = {
            "kind": profile.kind,
            "model": profile.model,
            "base_url": redact_url(profile.base_url),
            "configured": choice.available,
        }
        if not choice.available:
            info["fix"] = choice.reason
        elif run_probe:
            info.update(probe(name, profile, settings))
        if worth_checking(name, profile, settings):
            info["local"] = not choice.hosted
            info["server"] = local_server_report(profile, settings, run_probe)
        if len(profile.servers()) > 1:
            info["servers"] = servers_report(profile, run_probe)
        report[name] = info
    return report


def local_server_report(
    profile: ProfileSettings, settings: Settings, run_probe: bool
) -> dict[str, object] | str:
    """A local model server's check (`check_server`), its URL redacted; not with `--no-probe`."""
    from assistant.backends.llms.hosted import redact_url

    if not run_probe:
        return "not checked"
    checked = check_server(profile, window_needed(settings), read_key(profile.api_key_env))
    report = checked.as_dict()
    report["url"] = redact_url(checked.url) or checked.url
    return report


def servers_report(profile: ProfileSettings, run_probe: bool) -> dict[str, object]:
    """Each server of a pool by its URL (redacted), checked unless `--no-probe`."""
    from assistant.backends.llms.hosted import redact_url

    key = read_key(profile.api_key_env)
    return {
        redact_url(url) or url: check_pool_server(url, key) if run_probe else "not checked"
        for url in profile.servers()
    }


def check_pool_server(
    url: str, key: SecretStr | None, timeout_s: float = POOL_CHECK_TIMEOUT_S
) -> dict[str, object]:
    """For `kb doctor`: whether one server of a pool answers `GET /models`, and how fast; a
    quick look (no generation), so a pool of many servers is checked in seconds."""
    started = time.perf_counter()
    listed = list_models(url, key, timeout_s)
    if not listed.reachable:
        return {"answers": False, "error": listed.error}
    return {"answers": True, "latency_s": round(time.perf_counter() - started, 3)}


def server_model_rows(settings: Settings) -> list[dict[str, object]]:
    """For `kb models list`: a row per model each local model server offers, or one saying
    it does not answer. Presets nobody configured are listed only when their server answers
    (an unused port on loopback refuses at once), so the list shows the names to choose from."""
    from assistant.backends.llms.hosted import redact_url
    from assistant.backends.local_servers import offered

    rows: list[dict[str, object]] = []
    for name, profile in all_profiles(settings).items():
        if profile.kind != "local-server" or not profile.servers():
            continue
        url = profile.servers()[0]
        listed = list_models(url, read_key(profile.api_key_env))
        base = {"profile": name, "kind": "local-server", "server": redact_url(url) or url}
        if not listed.reachable and worth_checking(name, profile, settings):
            rows.append({"name": name, **base, "model": None, "error": listed.error})
        chosen = offered(profile.model, listed) if profile.model else None
        for model in listed.models:
            is_chosen = chosen is not None and chosen["id"] == model
            rows.append({"name": f"{name}:{model}", **base, "model": model, "chosen": is_chosen})
    return rows
