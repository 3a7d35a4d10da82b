"""kb.example.yaml lists every setting at its default: uncommented, it loads, names every field
of every section and changes nothing (a new setting without its line fails here)."""

import re
from pathlib import Path

import pytest
import yaml

from assistant.settings import ProfileSettings, Settings, load_settings
from tests.conftest import ROOT

EXAMPLE = ROOT / "kb.example.yaml"
SETTING_LINE = re.compile(r"^# ( *[a-z_]+:)")


def _uncommented() -> str:
    return "\n".join(SETTING_LINE.sub(r"\1", line) for line in EXAMPLE.read_text().splitlines())


def test_every_setting_is_listed() -> None:
    data = yaml.safe_load(_uncommented())
    for name, field in Settings.model_fields.items():
        if name == "profiles":
            assert set(data[name]["vllm"]) == set(ProfileSettings.model_fields)
        else:
            assert set(data[name]) == set(field.annotation.model_fields), name  # type: ignore[union-attr]


def test_uncommented_it_loads_and_keeps_every_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    defaults = load_settings().model_dump(exclude={"profiles"})
    (tmp_path / "kb.yaml").write_text(_uncommented())
    loaded = load_settings()
    assert loaded.model_dump(exclude={"profiles"}) == defaults
    assert "unknown setting" not in caplog.text
