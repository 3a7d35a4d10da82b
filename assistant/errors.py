"""kb's error tree, in one place for frontends to catch.

The root (`KbError`) and the ingest/index errors live in the lower layers so that those
packages never import `assistant`; they are re-exported here.
"""

from index.errors import (
    EmbedderError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotBuiltError,
    VectorStoreError,
)
from ingest.errors import IngestError, KbError

__all__ = [
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "ConfigurationError",
    "EmbedderError",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexNotBuiltError",
    "IngestError",
    "KbError",
    "ModelFileError",
    "VectorStoreError",
]


class ConfigurationError(KbError):
    """Settings are missing or contradict each other."""


class ModelFileError(ConfigurationError):
    """A model file is missing, incomplete or fails its checksum."""


class IncompleteAnswerError(KbError):
    """An answer stream ended without its final `Answer` (a bug, reported as an error: an
    `assert` would vanish under `python -O`)."""

    def __init__(self) -> None:
        super().__init__("the answer ended without its final part; please ask again")


class BackendError(KbError):
    """A chat-model backend failed while answering; `status` is the HTTP status, if any."""

    status: int | None = None


class BackendUnavailableError(BackendError):
    """The backend cannot be reached or loaded."""


class BackendTimeoutError(BackendError):
    """The backend did not answer in time."""
