"""Errors the index raises; part of the tree rooted at `ingest.errors.KbError`."""

from ingest.errors import KbError


class IndexNotBuiltError(KbError):
    """No index exists at the configured directory yet."""


class IndexMismatchError(KbError):
    """The index on disk was built with other settings than the current ones."""


class EmbedderError(KbError):
    """The embedding model could not be loaded or run."""


class VectorStoreError(KbError):
    """The vector store cannot be used: a missing extra, a locked or unreachable database."""


class IndexBusyError(KbError):
    """Another ingest holds the index folder's writer lock."""
