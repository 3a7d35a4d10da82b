"""Root of kb's error tree and the errors ingest raises.

The tree starts here, in the lowest layer, so that `index` and `assistant` can extend it
without importing upwards; `assistant.errors` re-exports the whole tree.
"""


class KbError(Exception):
    """Base of every error kb reports to a user; the message says what to do next."""


class IngestError(KbError):
    """A file could not be read or split; the message names the file and the reason."""
