"""The index manifest: what an index was built with, checked against current settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from index.errors import IndexMismatchError

FORMAT_VERSION = 1
REBUILD_HINT = "rebuild it with `kb ingest --rebuild`"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Manifest:
    """What an index was built with (embedder, chunking, format) and how much it holds."""

    embedder_id: str
    dimension: int
    chunking: dict[str, int | str]
    format_version: int = FORMAT_VERSION
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    documents: int = 0
    chunks: int = 0

    def as_dict(self) -> dict[str, object]:
        """The fields as written to `manifest.json`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Manifest:
        """A manifest from `manifest.json`, ignoring fields this version does not know."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]

    def touched(self, documents: int, chunks: int) -> Manifest:
        """A copy stamped now with the new counts."""
        return replace(self, updated_at=_now(), documents=documents, chunks=chunks)

    def check(self, embedder_id: str, chunking: dict[str, int | str]) -> None:
        """Raise `IndexMismatchError` naming what differs and the rebuild command."""
        problems = []
        if self.format_version != FORMAT_VERSION:
            problems.append(f"format version {self.format_version} (kb reads {FORMAT_VERSION})")
        if self.embedder_id != embedder_id:
            problems.append(f"embedder {self.embedder_id!r} (settings say {embedder_id!r})")
        if self.chunking != chunking:
            problems.append(f"chunking {self.chunking} (settings say {chunking})")
        if problems:
            raise IndexMismatchError(
                "the index was built with " + "; ".join(problems) + f": {REBUILD_HINT}"
            )
