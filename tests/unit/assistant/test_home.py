"""kb's home (assistant/home.py): which folder wins, and settings' paths read against it."""

from pathlib import Path

import pytest

from assistant import home as home_module
from assistant.home import find_home
from assistant.settings import Settings
from tests.conftest import ROOT


@pytest.fixture
def no_kb_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_HOME")  # tests/conftest.py sets it to "."


def test_kb_home_wins_and_a_relative_one_is_read_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kb.yaml").write_text("{}\n")
    monkeypatch.setenv("KB_HOME", "elsewhere")
    found = find_home(tmp_path)
    assert found.path == tmp_path.resolve() / "elsewhere" and "KB_HOME" in found.reason


def test_the_nearest_kb_yaml_above_the_current_directory(tmp_path: Path, no_kb_home: None) -> None:
    (tmp_path / "kb.yaml").write_text("{}\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found = find_home(deep)
    assert found.path == tmp_path.resolve() and "kb.yaml" in found.reason


def test_without_either_the_checkout_kb_runs_from(tmp_path: Path, no_kb_home: None) -> None:
    found = find_home(tmp_path)
    assert found.path == ROOT and "checkout" in found.reason


def test_installed_from_a_wheel_the_per_user_data_folder(
    tmp_path: Path, no_kb_home: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(home_module, "_checkout", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    found = find_home(tmp_path)
    assert found.path == tmp_path / "data" / "kb" and "per-user" in found.reason


def test_settings_read_paths_env_and_yaml_against_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "kb.yaml").write_text("index:\n  dir: data/index\n")
    (home / ".env").write_text("KB_WEB__UPLOAD_DIR=data/uploads\n")
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.chdir(elsewhere)
    settings = Settings()
    assert settings.index.dir == home / "data/index"
    assert settings.web.upload_dir == home / "data/uploads"
    assert settings.ingest.paths == [home / "corpus"]
    assert settings.index.milvus_uri == str(home / ".kb/milvus.db")
    absolute = tmp_path / "abs"
    monkeypatch.setenv("KB_INDEX__DIR", str(absolute))
    assert Settings().index.dir == absolute  # an absolute path is kept as it is
