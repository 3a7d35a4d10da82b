"""Local model servers as profiles (issue 34, part 4): the presets and their one setting,
which of them count as local for privacy routing, and what routing then does with them."""

from __future__ import annotations

import pytest

from assistant.backends.llms.base import Price
from assistant.backends.llms.hosted import OpenAICompatibleChatModel
from assistant.backends.local_servers import on_loopback, server_root
from assistant.backends.pool import ChatModelPool
from assistant.backends.profiles import (
    all_profiles,
    availability,
    build_pool,
    is_hosted,
    profile_prices,
)
from assistant.errors import ConfigurationError
from assistant.settings import Settings
from assistant.settings_profiles import LOCAL_SERVERS, ProfileSettings
from ingest.models import Chunk

SECRET_QUESTION = "Mail the salary bands to jane.doe@example.com please"
PLAIN_QUESTION = "Is self-hosting cheaper at high volumes?"


def _server(url: str, local: bool | None = None, **more: object) -> ProfileSettings:
    return ProfileSettings(
        kind="local-server", base_url=url, model="qwen2.5:7b", local=local, **more
    )


def _passage(local_only: bool) -> Chunk:
    meta = {"local_only": "true"} if local_only else {}
    text = "The salary band for senior engineers is reviewed every April."
    return Chunk(1, "hr/salaries.md", "Salaries", (), None, 0, len(text), text, meta)


def test_each_preset_is_a_local_server_waiting_for_its_model() -> None:
    profiles = all_profiles(Settings())
    assert set(LOCAL_SERVERS) == {"ollama", "lmstudio", "vllm", "llamacpp"}
    for name, url in LOCAL_SERVERS.items():
        preset = profiles[name]
        assert (preset.kind, preset.base_url, preset.model) == ("local-server", url, None)
        assert preset.timeout_s > 30 and preset.api_key_env is None
    assert profiles["ollama"].base_url == "http://127.0.0.1:11434/v1"
    assert profiles["lmstudio"].base_url == "http://127.0.0.1:1234/v1"
    choice = availability("ollama", profiles["ollama"])
    assert not choice.available and not choice.hosted
    assert choice.reason == (
        "set KB_PROFILES__OLLAMA__MODEL (the model's name on the server; kb models list shows them)"
    )


def test_one_setting_makes_a_preset_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_PROFILES__OLLAMA__MODEL", "qwen2.5:7b")
    monkeypatch.setenv("KB_LLM__FALLBACK", "[]")
    settings = Settings()
    pool = build_pool(settings)
    choice = pool.choice("ollama")
    assert choice.available and not choice.hosted and choice.label == "Local server: Ollama"
    model = pool.get("ollama")
    assert isinstance(model, OpenAICompatibleChatModel) and model.model == "qwen2.5:7b"
    assert model._config.base_url == "http://127.0.0.1:11434/v1"
    assert model._config.api_key is None  # no key: the client sends a placeholder
    assert profile_prices(settings)["ollama"] == Price()  # your own server: free


def test_a_user_profile_named_like_a_preset_keeps_its_own_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KB_PROFILES__VLLM__KIND", "openai")
    monkeypatch.setenv("KB_PROFILES__VLLM__MODEL", "Qwen/Qwen2.5-7B-Instruct")
    vllm = all_profiles(Settings())["vllm"]
    assert (vllm.kind, vllm.base_url, vllm.label, vllm.timeout_s) == ("openai", None, None, 30.0)
    monkeypatch.delenv("KB_PROFILES__VLLM__KIND")  # only the model: the preset, chosen
    vllm = all_profiles(Settings())["vllm"]
    assert (vllm.kind, vllm.base_url) == ("local-server", "http://127.0.0.1:8000/v1")
    assert vllm.model == "Qwen/Qwen2.5-7B-Instruct"


@pytest.mark.parametrize(
    ("profile", "hosted"),
    [
        (_server("http://127.0.0.1:11434/v1"), False),
        (_server("http://localhost:1234/v1"), False),
        (_server("http://[::1]:8000/v1"), False),
        (_server("http://10.0.0.5:8000/v1"), True),  # a box on the LAN leaves this machine
        (_server("http://gpu-box.lan:8000/v1"), True),  # a name: whatever it resolves to
        (_server("http://10.0.0.5:8000/v1", local=True), False),  # marked local by its owner
        (_server("http://127.0.0.1:11434/v1", local=False), True),  # marked hosted
        (_server("http://127.0.0.1:1/v1", base_urls=["http://10.0.0.5:8000/v1"]), True),
        (ProfileSettings(kind="local-server", model="m"), True),  # no URL: the SDK's default
        (ProfileSettings(kind="openai", base_url="http://127.0.0.1:8000/v1", model="m"), True),
        (ProfileSettings(kind="openai", base_url="http://127.0.0.1:8000/v1", local=True), True),
        (ProfileSettings(kind="local"), False),
    ],
)
def test_which_profiles_count_as_hosted(profile: ProfileSettings, hosted: bool) -> None:
    assert is_hosted(profile) is hosted
    assert availability("p", profile).hosted is hosted


def test_loopback_and_the_server_root() -> None:
    assert on_loopback(["http://127.0.0.2:9/v1", "http://localhost/v1"])
    assert not on_loopback([])
    assert not on_loopback(["http://0.0.0.0:8000/v1"])  # binds everything; not an address
    assert not on_loopback(["http://localhost.example.com/v1"])
    assert server_root("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434"
    assert server_root("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def _pool(monkeypatch: pytest.MonkeyPatch, private: str) -> ChatModelPool:
    monkeypatch.setenv("KB_PROFILES__OLLAMA__MODEL", "qwen2.5:7b")
    monkeypatch.setenv("KB_PROFILES__GPUBOX__KIND", "local-server")
    monkeypatch.setenv("KB_PROFILES__GPUBOX__BASE_URL", "http://10.1.2.3:11434/v1")
    monkeypatch.setenv("KB_PROFILES__GPUBOX__MODEL", "qwen2.5:32b")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    monkeypatch.setenv("KB_LLM__PRIVATE", private)
    monkeypatch.setenv("KB_LLM__FALLBACK", "[]")
    return build_pool(Settings())


def test_auto_keeps_private_questions_on_a_loopback_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = _pool(monkeypatch, "ollama")
    plan = pool.router("auto")(SECRET_QUESTION, [])
    assert [m.backend for m in plan.chain] == ["ollama"] and "an e-mail address" in (
        plan.reason or ""
    )
    plan = pool.router("auto")(PLAIN_QUESTION, [])
    assert [m.backend for m in plan.chain] == ["openai"]
    plan = pool.router("auto")(PLAIN_QUESTION, [], [_passage(local_only=True)])
    assert [m.backend for m in plan.chain] == ["ollama"] and "local-only" in (plan.reason or "")


def test_local_only_passages_never_go_to_a_server_off_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = _pool(monkeypatch, "ollama")
    refused = pool.router("gpubox")(PLAIN_QUESTION, [], [_passage(local_only=True)])
    assert refused.chain == () and refused.refused and "local-only" in refused.refused
    sent = pool.router("gpubox")(PLAIN_QUESTION, [], [_passage(local_only=False)])
    assert [m.backend for m in sent.chain] == ["gpubox"]
    kept = pool.router("ollama")(PLAIN_QUESTION, [], [_passage(local_only=True)])
    assert [m.backend for m in kept.chain] == ["ollama"] and not kept.refused


def test_private_questions_may_not_be_kept_on_a_server_off_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match="KB_LLM__PRIVATE='gpubox' sends questions off"):
        _pool(monkeypatch, "gpubox")
    monkeypatch.setenv("KB_PROFILES__GPUBOX__LOCAL", "true")  # its owner vouches for it
    pool = _pool(monkeypatch, "gpubox")
    plan = pool.router("auto")(SECRET_QUESTION, [])
    assert [m.backend for m in plan.chain] == ["gpubox"]
