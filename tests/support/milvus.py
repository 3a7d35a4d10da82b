"""Where the Milvus tests put their vectors: Milvus Lite in the test's folder, or a collection
of its own on the real Milvus server the session starts (harness/milvus_server.py).

`MILVUS_KINDS` parametrizes a fixture over both; `target(kind, request)` gives the URI and a
fresh collection name, so tests sharing the one server never see each other's vectors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.stores import StoreSpec
from tests.conftest import milvus_available, require

MILVUS_KINDS = ["milvus-lite", "milvus-server"]
LITE_MISSING = "pymilvus and milvus-lite are not installed (pip install -e '.[milvus]')"


@dataclass(frozen=True)
class MilvusTarget:
    """A Milvus URI, a collection nobody else uses, and the token it needs (server with auth)."""

    uri: str
    collection: str
    token: str = ""

    @property
    def spec(self) -> StoreSpec:
        return StoreSpec(kind="milvus", milvus_uri=self.uri, milvus_collection=self.collection)

    @property
    def env(self) -> dict[str, str]:
        """The settings that point `kb` in a child process at it."""
        env = {
            "KB_INDEX__STORE": "milvus",
            "KB_INDEX__MILVUS_URI": self.uri,
            "KB_INDEX__MILVUS_COLLECTION": self.collection,
        }
        return env | ({"KB_MILVUS_TOKEN": self.token} if self.token else {})


def fresh_collection() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> MilvusTarget:
    """Milvus Lite in `tmp_path`, or the session's server (started on first use)."""
    require(milvus_available(), LITE_MISSING)
    if kind == "milvus-lite":
        return MilvusTarget(str(tmp_path / "milvus.db"), fresh_collection())
    server = request.getfixturevalue("milvus_server")
    return MilvusTarget(server.uri, fresh_collection())
