"""A misspelt setting is named, with the closest valid one; settings that exist pass silently."""

import logging
from pathlib import Path

import pytest

from assistant.errors import ConfigurationError
from assistant.settings import Settings, load_settings
from assistant.settings_check import unknown_setting_warnings


def _warnings(env: dict[str, str], yaml_data: object = None, dotenv: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return unknown_setting_warnings(Settings, env, yaml_data, dotenv or {})


def test_valid_settings_and_other_variables_pass_silently() -> None:
    env = {
        "KB_INDEX__DIR": "x",
        "KB_LLM__FALLBACK": '["local"]',
        "KB_PROFILES__VLLM__KIND": "openai",  # a profile may have any name
        "KB_MILVUS_TOKEN": "t",  # read outside the settings tree
        "HOME": "/root",
    }
    assert _warnings(env, {"index": {"dir": "x"}, "profiles": {"lab": {"model": "m"}}}) == []


@pytest.mark.parametrize(
    ("env", "yaml_data", "dotenv", "warning"),
    [
        (
            {"KB_INDEX__DIRR": "x"},
            None,
            None,
            "KB_INDEX__DIRR (environment); did you mean KB_INDEX__DIR?",
        ),
        ({"KB_PROFILES__VLLM__MODLE": "m"}, None, None, "did you mean KB_PROFILES__VLLM__MODEL?"),
        ({}, None, {"KB_ANSWR__TOP_K": "3"}, "KB_ANSWR__TOP_K (.env); did you mean KB_ANSWER?"),
        ({}, {"index": {"dirr": "x"}}, None, "index.dirr (kb.yaml); did you mean index.dir?"),
        ({"KB_ZZZ": "1"}, None, None, "unknown setting KB_ZZZ (environment)"),
    ],
)
def test_a_misspelt_setting_is_named_with_the_closest_valid_one(
    env: dict[str, str], yaml_data: object, dotenv: dict[str, str] | None, warning: str
) -> None:
    found = _warnings(env, yaml_data, dotenv)
    assert len(found) == 1 and warning in found[0]


def test_load_settings_warns_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_INDEX__DIRR", "elsewhere")
    with caplog.at_level(logging.WARNING):
        settings = load_settings()
    assert settings.index.dir == tmp_path / ".kb/index"  # ignored, as before, but now said
    assert "did you mean KB_INDEX__DIR?" in caplog.text


def test_an_invalid_secret_or_section_is_named_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kb.yaml").write_text("web: [password, hunter2]\nslack:\n  bot_token_env: [x]\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    said = str(raised.value)
    assert "invalid setting web:" in said and "invalid setting slack.bot_token_env:" in said
    assert "hunter2" not in said and "[x]" not in said
