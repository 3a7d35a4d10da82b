"""Who is asking, and which collections they may see.

A caller is a surface (`page`, `api`, `mcp`, `slack`, `cli`) and a name on it; its grant is a
set of collections, or every collection. A grant comes from an API/MCP token (`api.tokens`,
`api.tokens_file`: `name:token:coll1+coll2` entries), a Slack channel or DM
(`slack.channel_collections`, `slack.user_collections`, `slack.default_collections`) or a page
login (`web.collections`, `web.logins`). A question may narrow its caller's collections, never
widen them: `narrow` is the one check every surface makes before it searches, lists or reads.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigurationError, KbError

log = logging.getLogger(__name__)

ALL = "*"  # in a token or login entry: every collection


class AccessDeniedError(KbError):
    """A caller asked for collections its grant does not hold."""


@dataclass(frozen=True)
class Caller:
    """Who asked: the surface (`page`, `api`, `mcp`, `slack`, `cli`), a name on it (a token's
    name, a page login, `team/user/channel` on Slack, `local` for this machine's user), and
    the collections it may see (None: every collection)."""

    surface: str
    name: str
    collections: frozenset[str] | None = None

    def may_see(self, collection: str) -> bool:
        """Whether a document of `collection` is within this caller's grant."""
        return self.collections is None or collection in self.collections

    def scope_line(self, searched: Sequence[str]) -> str:
        """What the answer searched, as the page, Slack and the API say it."""
        names = ", ".join(searched) if searched else "all collections"
        return f"Searched: {names} (as {self.surface} {self.name})"


LOCAL_USER = Caller("cli", "local")


def narrow(caller: Caller, requested: Sequence[str]) -> tuple[str, ...]:
    """The collections a question of `caller` searches: `requested` (empty: all it may see),
    never one outside its grant. Never empty for a limited caller, since an empty scope means
    every collection."""
    if caller.collections is None:
        return tuple(requested)
    outside = [name for name in requested if name not in caller.collections]
    if outside:
        raise AccessDeniedError(
            f"not allowed to search {', '.join(outside)}: {caller.name} may search "
            f"{', '.join(sorted(caller.collections)) or 'no collection'}"
        )
    allowed = tuple(requested) or tuple(sorted(caller.collections))
    if not allowed:
        raise AccessDeniedError(f"{caller.name} may search no collection: ask kb's admin")
    return allowed


def visible(caller: Caller, names: Iterable[str]) -> list[str]:
    """The collection names in `names` that `caller` may see, in order."""
    return [name for name in names if caller.may_see(name)]


def _collections(text: str) -> frozenset[str] | None:
    """`coll1+coll2` → those; `*` → None (every collection)."""
    if text.strip() == ALL:
        return None
    return frozenset(part.strip() for part in text.split("+") if part.strip())


@dataclass(frozen=True)
class Grant:
    """A named secret (an API token, a page password) and the collections it opens."""

    name: str
    secret: str = field(repr=False)
    collections: frozenset[str] | None = None


def parse_grants(text: str, kind: str) -> list[Grant]:
    """Entries separated by commas or new lines, `#` comments: `secret` (every collection,
    named `<kind>-N`), `name:secret` (every collection) or `name:secret:coll1+coll2`."""
    grants = []
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    entries = [e.strip() for line in lines for e in line.split(",") if e.strip()]
    for number, entry in enumerate(entries, start=1):
        fields = entry.split(":")
        if len(fields) == 1:
            grants.append(Grant(f"{kind}-{number}", fields[0]))
        elif len(fields) in (2, 3) and fields[0] and fields[1]:
            colls = _collections(fields[2]) if len(fields) == 3 else None
            if len(fields) == 3 and not fields[2].strip():
                colls = frozenset()  # an empty list opens nothing; `*` opens everything
            grants.append(Grant(fields[0].strip(), fields[1].strip(), colls))
        else:
            raise ConfigurationError(
                f"{kind} entry {number} is not `secret`, `name:secret` or `name:secret:coll1+coll2`"
            )
    return grants


class GrantBook:
    """The grants of the settings and of a file, the file read again whenever it changes, so a
    collection taken from a token stops working at the next request."""

    def __init__(self, entries: Sequence[str] = (), file: Path | None = None, kind: str = "token"):
        self._fixed = parse_grants("\n".join(entries), kind)
        self._file = file
        self._kind = kind
        self._read: tuple[tuple[int, int], list[Grant]] | None = None

    def grants(self) -> list[Grant]:
        """Every grant now: the settings' first, then the file's."""
        return self._fixed + self._from_file()

    def match(self, given: str) -> Grant | None:
        """The grant whose secret is `given` (compared in constant time), or None."""
        found = None
        for grant in self.grants():
            if hmac.compare_digest(given.encode(), grant.secret.encode()):
                found = found or grant
        return found

    def _from_file(self) -> list[Grant]:
        if self._file is None:
            return []
        try:
            status = os.stat(self._file)
        except OSError as exc:
            log.warning("the %s file %s cannot be read: %s", self._kind, self._file, exc)
            return []
        version = (status.st_mtime_ns, status.st_size)  # a rewrite within a tick changes size
        if self._read is None or self._read[0] != version:
            try:
                grants = parse_grants(self._file.read_text(encoding="utf-8"), self._kind)
            except (ConfigurationError, OSError, UnicodeDecodeError) as exc:
                log.error("the %s file %s is ignored until fixed: %s", self._kind, self._file, exc)
                return []  # fail closed: none of its tokens work meanwhile
            self._read = (version, grants)
        return self._read[1]


@dataclass(frozen=True)
class SlackGrants:
    """Which collections a Slack channel, or a user's DMs, may see; `default` for the rest
    (None: every collection)."""

    channels: Mapping[str, Collection[str]] = field(default_factory=dict)
    users: Mapping[str, Collection[str]] = field(default_factory=dict)
    default: Collection[str] | None = None

    def caller(self, team: str, user: str, channel: str, direct: bool) -> Caller:
        """The caller of a message in `channel` (a DM when `direct`) by `user`."""
        chosen = (self.users if direct else self.channels).get(user if direct else channel)
        if chosen is None:
            chosen = self.default
        collections = None if chosen is None else frozenset(chosen)
        return Caller("slack", f"{team}/{user}/{channel}", collections)
