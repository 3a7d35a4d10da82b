"""The feedback store over a real SQLite file: record, rate, a second click replacing the first,
two users, unknown ids and ratings, reopening the file, a file from a newer kb, threads rating
at once; and the 👎 answers exported as evaluation rows the project's eval reader loads."""

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.answering.models import Answer, Citation
from assistant.backends.llms.base import Message
from assistant.errors import KbError
from assistant.evaluation import load_questions
from assistant.feedback import schema
from assistant.feedback.export import disliked_rows
from assistant.feedback.store import FeedbackStore
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
    "Self-hosting is cheaper at volume.",
)
PRIVACY = Chunk(2, "docs/privacy.md", None, (), None, 0, 40, "Data stays on premises.")
HISTORY: list[Message] = [
    {"role": "user", "content": "Is self-hosting cheaper?"},
    {"role": "assistant", "content": "Yes, at volume [1]."},
]


def make_answer(question: str = "Why self-host?", text: str = "It is cheaper [1].") -> Answer:
    costs, privacy = Hit(COSTS, 0.9), Hit(PRIVACY, 0.5)
    citations = (Citation(1, costs, "It is cheaper", "Self-hosting is cheaper at volume."),)
    return Answer(question, text, citations, (costs, privacy), "local", "qwen-0.5b")


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / ".kb" / "feedback.sqlite3")


def test_a_rated_answer_keeps_question_answer_passages_and_backend(store: FeedbackStore) -> None:
    answer_id = store.record_answer(make_answer(), source="web", history=HISTORY)
    store.rate(answer_id, "down", "user:ann")
    [rated] = store.rated()
    assert len(answer_id) == 32 and rated.id == answer_id
    assert (rated.question, rated.answer, rated.backend, rated.model) == (
        "Why self-host?",
        "It is cheaper [1].",
        "local",
        "qwen-0.5b",
    )
    assert [(p.n, p.source, p.location, p.text, p.cited) for p in rated.passages] == [
        (
            1,
            "docs/costs.md",
            "Costs > At scale, page 3",
            "Self-hosting is cheaper at volume.",
            True,
        ),
        (2, "docs/privacy.md", None, "Data stays on premises.", False),
    ]
    assert list(rated.history) == HISTORY and rated.source == "web"
    assert (rated.ups, rated.downs, rated.refused) == (0, 1, False)


def test_an_answer_nobody_rated_is_not_listed(store: FeedbackStore) -> None:
    store.record_answer(make_answer(), source="slack")
    assert store.rated() == []


def test_a_second_click_replaces_the_first(store: FeedbackStore) -> None:
    answer_id = store.record_answer(make_answer(), source="slack")
    store.rate(answer_id, "up", "U1")
    store.rate(answer_id, "down", "U1")
    [rated] = store.rated()
    assert (rated.ups, rated.downs) == (0, 1)
    assert store.rated("up") == []


def test_two_users_count_apart(store: FeedbackStore) -> None:
    answer_id = store.record_answer(make_answer(), source="slack")
    store.rate(answer_id, "up", "U1")
    store.rate(answer_id, "down", "U2")
    [rated] = store.rated()
    assert (rated.ups, rated.downs) == (1, 1)
    assert [r.id for r in store.rated("up")] == [r.id for r in store.rated("down")] == [answer_id]


def test_newest_rating_first(store: FeedbackStore) -> None:
    first = store.record_answer(make_answer("one?"), source="web")
    second = store.record_answer(make_answer("two?"), source="web")
    store.rate(second, "down", "ann")
    store.rate(first, "down", "ann")
    assert [r.question for r in store.rated("down")] == ["one?", "two?"]


def test_unknown_answer_or_rating_is_a_clear_error(store: FeedbackStore) -> None:
    with pytest.raises(KbError, match=r"no answer 'f00d'.*ask the question again"):
        store.rate("f00d", "up", "ann")
    answer_id = store.record_answer(make_answer(), source="web")
    with pytest.raises(KbError, match="rating 'meh': use 'up' or 'down'"):
        store.rate(answer_id, "meh", "ann")
    with pytest.raises(KbError, match="feedback source 'email'"):
        store.record_answer(make_answer(), source="email")
    assert store.rated() == []


def test_ratings_outlive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "feedback.sqlite3"
    first = FeedbackStore(path)
    answer_id = first.record_answer(make_answer(), source="slack-command")
    first.rate(answer_id, "down", "U1")
    first.close()
    again = FeedbackStore(path)
    assert again.opened_at_version == schema.VERSION
    assert [(r.id, r.downs, r.source) for r in again.rated()] == [(answer_id, 1, "slack-command")]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_from_a_newer_kb_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    with pytest.raises(KbError, match=r"newer than this kb's.*KB_FEEDBACK__DB"):
        FeedbackStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == schema.VERSION + 1


def test_threads_rating_at_once_lose_nothing(store: FeedbackStore) -> None:
    answer_ids = [store.record_answer(make_answer(f"q{i}?"), source="web") for i in range(4)]
    errors: list[BaseException] = []

    def rate_all(user: int) -> None:
        try:
            for answer_id in answer_ids:
                store.rate(answer_id, "down" if user % 2 else "up", f"u{user}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=rate_all, args=(user,)) for user in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted((r.ups, r.downs) for r in store.rated()) == [(4, 4)] * 4


def test_two_stores_on_one_file_see_each_others_ratings(tmp_path: Path) -> None:
    """The page and the Slack bot are two processes on one file."""
    path = tmp_path / "feedback.sqlite3"
    page, bot = FeedbackStore(path), FeedbackStore(path)
    answer_id = bot.record_answer(make_answer(), source="slack")
    page.rate(answer_id, "down", "ann")
    assert [r.downs for r in bot.rated("down")] == [1]


def test_disliked_answers_export_as_eval_rows_the_reader_loads(
    store: FeedbackStore, tmp_path: Path
) -> None:
    liked = store.record_answer(make_answer("Liked?"), source="web")
    plain = store.record_answer(make_answer("Plain?"), source="web")
    followup = store.record_answer(make_answer("And privacy?"), source="slack", history=HISTORY)
    store.rate(liked, "up", "ann")
    store.rate(plain, "down", "ann")
    store.rate(followup, "down", "ann")
    store.rate(followup, "down", "bob")
    rows = disliked_rows(store.rated("down"))
    assert [r["question"] for r in rows] == ["And privacy?", "Plain?"]
    first = rows[0]
    assert first["id"] == "fb-" + followup[:12] and first["type"] == "followup"
    assert first["history"] == HISTORY and "history" not in rows[1] and rows[1]["type"] == "fact"
    assert (first["gold_snippets"], first["answer"], first["rated_by_count"]) == ([], "", 2)
    assert first["gold_files"] == ["docs/costs.md", "docs/privacy.md"]
    assert first["kb_answer"] == "It is cheaper [1]." and first["kb_backend"] == "local"
    assert first["kb_passages"][0]["text"] == "Self-hosting is cheaper at volume."
    assert all("answer_must" not in row for row in rows)
    completed = tmp_path / "from-feedback.jsonl"
    completed.write_text(
        "".join(json.dumps({**r, "answer_must": ["cheaper"]}) + "\n" for r in rows)
    )
    assert [q["id"] for q in load_questions(completed)] == [r["id"] for r in rows]
