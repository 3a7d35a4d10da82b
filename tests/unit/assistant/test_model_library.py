"""`kb models`: adding a GGUF from a file, an https URL or hf:// (through a loopback stand-in for
the hub), with its checks; listing; and `--default` keeping the rest of kb.yaml."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from assistant.backends.model_library import add_model, added_models, quantisation, source_url
from assistant.errors import ModelFileError
from assistant.frontends.cli.models import set_default_model
from tests.support.file_server import file_server

FAKE_GGUF = b"GGUF" + b"\0" * 60


@pytest.fixture
def served(tmp_path: Path) -> Path:
    folder = tmp_path / "hub" / "owner" / "repo" / "resolve" / "main"
    folder.mkdir(parents=True)
    (folder / "tiny-q8_0.gguf").write_bytes(FAKE_GGUF)
    (folder / "page.gguf").write_bytes(b"<html>not a model</html>")
    return tmp_path / "hub"


def test_a_local_file_is_copied_and_becomes_a_backend(tmp_path: Path) -> None:
    source = tmp_path / "mine-Q5_K_M.gguf"
    source.write_bytes(FAKE_GGUF)
    path = add_model(str(source), tmp_path / "models")
    assert path.read_bytes() == FAKE_GGUF
    assert added_models(tmp_path / "models") == {"gguf:mine-Q5_K_M": path}
    assert quantisation(path.name) == "Q5_K_M"


def test_hf_urls_go_to_hf_endpoint(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    with file_server(served, asked) as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        assert (
            source_url("hf://owner/repo/tiny-q8_0.gguf")
            == f"{base}/owner/repo/resolve/main/tiny-q8_0.gguf"
        )
        path = add_model("hf://owner/repo/tiny-q8_0.gguf", tmp_path / "models")
    assert path.read_bytes() == FAKE_GGUF and asked == ["/owner/repo/resolve/main/tiny-q8_0.gguf"]


def test_a_download_that_is_not_a_gguf_or_has_the_wrong_hash_leaves_nothing(
    served: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    with file_server(served, []) as base:
        with pytest.raises(ModelFileError, match="not a GGUF"):
            add_model(f"{base}/owner/repo/resolve/main/page.gguf", models)
        with pytest.raises(ModelFileError, match="sha256"):
            add_model(f"{base}/owner/repo/resolve/main/tiny-q8_0.gguf", models, "0" * 64)
        with pytest.raises(ModelFileError, match="could not get"):
            add_model(f"{base}/owner/repo/resolve/main/missing.gguf", models)
    assert list(models.iterdir()) == []
    good = hashlib.sha256(FAKE_GGUF).hexdigest()
    with file_server(served, []) as base:
        assert add_model(f"{base}/owner/repo/resolve/main/tiny-q8_0.gguf", models, good).is_file()


def test_default_is_recorded_in_kb_yaml_keeping_other_settings(tmp_path: Path) -> None:
    settings = tmp_path / "kb.yaml"
    settings.write_text("index:\n  dir: /data/index\nllm:\n  n_ctx: 8192\n")
    set_default_model(tmp_path / "m.gguf", settings)
    written = yaml.safe_load(settings.read_text())
    assert written == {
        "index": {"dir": "/data/index"},
        "llm": {"n_ctx": 8192, "model_path": str(tmp_path / "m.gguf")},
    }
