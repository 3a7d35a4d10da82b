"""Grants and narrowing: the token entry formats, a caller's collections never widened, an
empty grant never read as "everything", Slack's channels, DMs and default, a tokens file read
again when it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.access import (
    AccessDeniedError,
    Caller,
    GrantBook,
    SlackGrants,
    narrow,
    parse_grants,
)
from assistant.errors import ConfigurationError


def test_token_entries_name_their_collections() -> None:
    grants = parse_grants("plain, bot:s1, hr:s2:hr+people, all:s3:*, none:s4:", "token")
    assert [(g.name, g.secret, g.collections) for g in grants] == [
        ("token-1", "plain", None),
        ("bot", "s1", None),
        ("hr", "s2", frozenset({"hr", "people"})),
        ("all", "s3", None),
        ("none", "s4", frozenset()),
    ]
    assert "s2" not in repr(grants[2])  # a secret is never shown


def test_a_malformed_entry_says_which_and_the_forms() -> None:
    with pytest.raises(ConfigurationError, match="token entry 2 is not"):
        parse_grants("good, a:b:c:d", "token")


def test_narrowing_never_widens_and_an_empty_grant_sees_nothing() -> None:
    hr = Caller("api", "hr", frozenset({"hr", "people"}))
    assert narrow(hr, ()) == ("hr", "people")  # none asked: all of its own, never "all"
    assert narrow(hr, ["hr"]) == ("hr",)
    with pytest.raises(AccessDeniedError, match="not allowed to search eng"):
        narrow(hr, ["hr", "eng"])
    with pytest.raises(AccessDeniedError, match="may search no collection"):
        narrow(Caller("api", "none", frozenset()), ())
    assert narrow(Caller("cli", "local"), ["eng"]) == ("eng",)


def test_slack_channels_dms_and_the_default() -> None:
    grants = SlackGrants({"C1": ["hr"]}, {"U9": ["eng"]}, ["handbook"])
    assert grants.caller("T1", "U1", "C1", direct=False).collections == {"hr"}
    assert grants.caller("T1", "U1", "C2", direct=False).collections == {"handbook"}
    assert grants.caller("T1", "U9", "D1", direct=True).collections == {"eng"}
    assert grants.caller("T1", "U1", "D1", direct=True).collections == {"handbook"}
    assert grants.caller("T1", "U9", "C1", direct=False).name == "T1/U9/C1"
    assert SlackGrants().caller("T1", "U1", "C1", direct=False).collections is None


def test_a_tokens_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    file = tmp_path / "tokens.txt"
    file.write_text("# comment\nbot:s3cret:hr\n")
    book = GrantBook(("env:e1",), file)
    grant = book.match("s3cret")
    assert grant is not None and grant.collections == {"hr"}
    file.write_text("bot:s3cret:eng+hr\n")
    changed = book.match("s3cret")
    assert changed is not None and changed.collections == {"eng", "hr"}
    file.write_text("")
    assert book.match("s3cret") is None and book.match("e1") is not None


def test_a_malformed_tokens_file_opens_nothing_until_fixed(tmp_path: Path) -> None:
    file = tmp_path / "tokens.txt"
    file.write_text("bot:s3cret:hr\n")
    book = GrantBook((), file)
    assert book.match("s3cret") is not None
    file.write_text("bot:s3cret:hr:extra:fields\n")
    assert book.match("s3cret") is None  # fails closed, logged
    file.write_text("bot:s3cret:eng\n")
    fixed = book.match("s3cret")
    assert fixed is not None and fixed.collections == {"eng"}
