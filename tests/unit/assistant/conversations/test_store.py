"""The conversations store over a real SQLite file: owners, order, rename, delete, export,
restored answers, migrations from a version-1 file, threads writing at once."""

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.answering.models import Answer, Citation, Evidence
from assistant.conversations import schema
from assistant.conversations.export import export_markdown
from assistant.conversations.restore import restore_answer
from assistant.conversations.store import ConversationNotFoundError, ConversationStore
from assistant.frontends.web import render as web_render
from index.models import Hit
from ingest.models import Chunk

COSTS = Chunk(
    1,
    "docs/costs.md",
    "Costs",
    ("Costs", "At scale"),
    3,
    10,
    90,
    "Self-hosting is cheaper at volume. It needs staff.",
)
PRIVACY = Chunk(2, "docs/privacy.md", None, (), None, 0, 40, "Data stays on premises.")


def make_answer(
    question: str, text: str = "Self-hosting is cheaper [1]. Data stays [2]."
) -> Answer:
    cost_hit, privacy_hit = Hit(COSTS, 0.9, 0.71), Hit(PRIVACY, 0.5, 0.4)
    citations = (
        Citation(1, cost_hit, "Self-hosting is cheaper", "Self-hosting is cheaper at volume."),
        Citation(2, privacy_hit, "Data stays", "Data stays on premises."),
    )
    evidence = Evidence((citations[0],), 0.1)
    return Answer(
        question,
        text,
        citations,
        (cost_hit, privacy_hit),
        "local",
        "qwen",
        {"total_s": 1.5},
        evidence=evidence,
    )


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / ".kb" / "conversations.sqlite3")


def test_a_conversation_keeps_its_turns_in_order(store: ConversationStore) -> None:
    cid = store.create("ann", "Is self-hosting cheaper?", "local", ["reports"])
    store.append("ann", cid, make_answer("Is self-hosting cheaper?"))
    store.append("ann", cid, make_answer("And privacy?", "It stays inside [2]."))
    saved = store.get("ann", cid)
    assert saved.summary.title == "Is self-hosting cheaper?"
    assert saved.summary.collections == ("reports",) and saved.summary.backend == "local"
    assert [t["content"] for t in saved.history] == [
        "Is self-hosting cheaper?",
        "Self-hosting is cheaper [1]. Data stays [2].",
        "And privacy?",
        "It stays inside [2].",
    ]


def test_another_owner_reads_not_found_and_cannot_change_it(store: ConversationStore) -> None:
    cid = store.create("ann", "Mine", "local")
    store.append("ann", cid, make_answer("Mine"))
    assert store.list_owned("bob") == []
    for attempt in (
        lambda: store.get("bob", cid),
        lambda: store.rename("bob", cid, "stolen"),
        lambda: store.delete("bob", cid),
        lambda: store.append("bob", cid, make_answer("x")),
        lambda: store.set_scope("bob", cid, "openai", []),
    ):
        with pytest.raises(ConversationNotFoundError, match="no saved conversation"):
            attempt()
    assert store.get("ann", cid).summary.title == "Mine" and len(store.get("ann", cid).turns) == 1
    assert store.find("bob", cid) is None


def test_list_is_newest_first_and_rename_delete_work(store: ConversationStore) -> None:
    first = store.create("ann", "First question", "local")
    second = store.create("ann", "Second question", "local")
    store.append("ann", first, make_answer("First question"))  # updated last: listed first
    assert [c.id for c in store.list_owned("ann")] == [first, second]
    store.rename("ann", second, "  Budget   notes ")
    assert store.get("ann", second).summary.title == "Budget notes"
    with pytest.raises(Exception, match="cannot be empty"):
        store.rename("ann", second, "   ")
    store.delete("ann", first)
    assert [c.id for c in store.list_owned("ann")] == [second]
    rows = store._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    assert rows == 0  # the deleted conversation's turns went with it


def test_long_first_question_is_cut_for_the_title(store: ConversationStore) -> None:
    cid = store.create("ann", "word " * 40, "local")
    title = store.get("ann", cid).summary.title
    assert len(title) == 80 and title.endswith("…")


def test_a_restored_answer_renders_like_the_original(store: ConversationStore) -> None:
    original = make_answer("Is self-hosting cheaper?")
    cid = store.create("ann", original.question, "local")
    store.append("ann", cid, original)
    restored = restore_answer(store.get("ann", cid).turns[0].answer)
    assert web_render.answer_markdown(restored, 0) == web_render.answer_markdown(original, 0)
    assert web_render.sources_html([restored]) == web_render.sources_html([original])
    refused = Answer(
        "Who won?", "Not in the documents.", (), original.passages, "local", "q", refused=True
    )
    store.append("ann", cid, refused)
    again = restore_answer(store.get("ann", cid).turns[1].answer)
    assert again.refused and web_render.sources_html([again]) == web_render.sources_html([refused])


def test_export_turns_citations_into_footnotes(store: ConversationStore) -> None:
    cid = store.create("ann", "Is self-hosting cheaper?", "local")
    store.append("ann", cid, make_answer("Is self-hosting cheaper?"))
    store.append("ann", cid, make_answer("And privacy?", "It stays inside [2]. See [7]."))
    text = export_markdown(store.get("ann", cid))
    assert text.startswith("# Is self-hosting cheaper?\n")
    assert "**Answer:** Self-hosting is cheaper [^1]. Data stays [^2]." in text
    assert "**Answer:** It stays inside [^4]. See [7]." in text  # numbered on; [7] cites nothing
    assert (
        "[^1]: `docs/costs.md`, Costs, Costs > At scale, page 3: “Self-hosting is cheaper at volume.”"
        in text
    )
    assert "[^4]: `docs/privacy.md`: “Data stays on premises.”" in text


def _version_1_file(path: Path) -> None:
    """A database as kb wrote it at schema version 1, with a conversation and a turn."""
    db = sqlite3.connect(path)
    for statement in schema.V1:
        db.execute(statement)
    db.execute("INSERT INTO conversations VALUES ('c1', 'ann', 'Old chat', 'local', 1.0, 2.0)")
    record = json.dumps(make_answer("Old question").as_dict())
    db.execute("INSERT INTO turns VALUES ('c1', 0, 'Old question', ?, 2.0)", (record,))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def test_a_version_1_database_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _version_1_file(path)
    store = ConversationStore(path)
    assert store.opened_at_version == 1
    saved = store.get("ann", "c1")
    assert saved.summary.title == "Old chat" and saved.summary.collections == ()
    assert saved.history[0]["content"] == "Old question"
    assert restore_answer(saved.turns[0].answer).citations[0].hit.chunk.source == "docs/costs.md"
    version = store._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == schema.VERSION == 3
    assert saved.summary.following  # rows from before v3 keep following their Slack thread
    assert store.questions_asked_by("U1") == []  # and have no asker
    store.close()
    assert ConversationStore(path).opened_at_version == 3  # migrated once, not again


def test_a_failed_migration_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    _version_1_file(path)
    broken = (*schema.MIGRATIONS, ("ALTER TABLE conversations ADD COLUMN x", "NOT SQL"))
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "VERSION", len(broken))
    with pytest.raises(sqlite3.OperationalError):
        ConversationStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = [row[1] for row in db.execute("PRAGMA table_info(conversations)")]
    assert "collections" not in columns and "x" not in columns  # step 2 rolled back too


def test_a_newer_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(schema.SchemaTooNewError, match="upgrade kb"):
        ConversationStore(path)


def test_threads_append_at_once_without_losing_turns(store: ConversationStore) -> None:
    cid = store.create("ann", "Busy", "local")

    def write(i: int) -> None:
        for j in range(10):
            store.append("ann", cid, make_answer(f"q{i}-{j}"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get("ann", cid).turns) == 40
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_stores_over_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    page, bot = ConversationStore(path), ConversationStore(path)
    cid = page.create("ann", "Shared", "local")
    bot.append("ann", cid, make_answer("Shared"))
    assert len(page.get("ann", cid).turns) == 1


def test_following_is_saved_per_conversation(store: ConversationStore) -> None:
    cid = store.create("slack:T/C/1", "Is it cheaper?", "local", conversation_id="slack:T/C/1")
    assert store.get("slack:T/C/1", cid).summary.following
    store.set_following("slack:T/C/1", cid, False)
    assert not store.get("slack:T/C/1", cid).summary.following
    with pytest.raises(ConversationNotFoundError):
        store.set_following("someone-else", cid, True)


def test_questions_are_listed_by_who_asked_them_newest_first(store: ConversationStore) -> None:
    one = store.create("k1", "first", "local", conversation_id="k1")
    two = store.create("k2", "second", "local", conversation_id="k2")
    store.append("k1", one, make_answer("Q1 by ann"), asked_by="T/ann")
    store.append("k2", two, make_answer("Q2 by bob"), asked_by="T/bob")
    store.append("k1", one, make_answer("Q3 by ann"), asked_by="T/ann")
    store.append("k1", one, make_answer("Q4 by nobody"))
    asked = store.questions_asked_by("T/ann")
    assert [(q.conversation_id, q.question) for q in asked] == [
        ("k1", "Q3 by ann"),
        ("k1", "Q1 by ann"),
    ]
    assert asked[0].asked >= asked[1].asked
    assert [q.question for q in store.questions_asked_by("T/ann", limit=1)] == ["Q3 by ann"]
