"""Which exact model file answered: a local GGUF's sha256, for the audit record.

A packaged model already checked at assembly (`model_files.is_verified`: its hash, size and
mtime recorded beside it) is named by its known hash without reading a gigabyte again; any
other GGUF is hashed once per process and remembered by (path, size, mtime), so a replaced
file is hashed anew. Hosted models and model servers have no file here: their record names
the model only. This module reads files; it loads no model.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.backends.llms.base import ChatModel
from assistant.backends.llms.llama_cpp import LlamaCppChatModel
from assistant.backends.model_files import PACKAGED, is_verified
from assistant.backends.pool import ChatModelPool
from assistant.errors import KbError
from index.hashing import file_sha256

log = logging.getLogger(__name__)

_known: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()  # two first answers at once hash the file once


def gguf_sha256(path: Path) -> str:
    """The sha256 (hex) of the GGUF at `path`: a packaged model's known hash when it was
    verified at assembly, else hashed (once per path, size and mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key not in _known:
            _known[key] = _packaged_sha256(path) or file_sha256(path)
        return _known[key]


def _packaged_sha256(path: Path) -> str | None:
    """The known hash of the packaged model `path` was assembled and verified as, if any."""
    for name, model in PACKAGED.items():
        if is_verified(path, name):
            return model.sha256
    return None


def model_fingerprint(model: ChatModel) -> str | None:
    """The sha256 of the GGUF a local model loads; None for hosted models and model servers
    (and when the file cannot be read: the record says so by its absence, the answer stands)."""
    if not isinstance(model, LlamaCppChatModel):
        return None
    try:
        return gguf_sha256(model.path)
    except OSError as exc:
        log.warning("cannot hash %s for the audit log: %s", model.path, exc)
        return None


def profile_fingerprint(pool: ChatModelPool, backend: str) -> str | None:
    """`model_fingerprint` of profile `backend`'s model (building one loads nothing); None
    for a name the pool does not have, such as a refusal made before any backend was chosen."""
    try:
        return model_fingerprint(pool.get(backend))
    except (KbError, KeyError):
        return None
