"""The feedback store over a real SQLite file, and its export as eval rows: one rating per
person (a second click replaces the first), unknown ids and ratings refused, threads rating at
once, a newer file refused, and the 👎 rows in EVAL.md's format that the eval reader loads once a
person adds `answer_must`."""

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.errors import KbError
from assistant.evaluation import load_questions
from assistant.feedback.export import disliked_rows
from assistant.feedback.store import FeedbackStore
from assistant.localdb import SchemaTooNewError
from tests.unit.assistant.conversations.test_store import make_answer


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "fb" / "feedback.sqlite3")


def test_a_second_click_replaces_the_first_and_people_count_apart(store: FeedbackStore) -> None:
    answer_id = store.record_answer(make_answer("Is it cheaper?"), source="slack")
    assert len(answer_id) == 32
    store.rate(answer_id, "up", "T1/ann")
    store.rate(answer_id, "down", "T1/ann")  # changed her mind
    store.rate(answer_id, "down", "T1/bob")
    [rated] = store.rated()
    assert (rated.ups, rated.downs) == (0, 2) and rated.source == "slack"
    assert store.rated("up") == [] and [r.id for r in store.rated("down")] == [answer_id]


def test_unrated_answers_are_not_listed_and_unknown_ids_or_ratings_are_refused(
    store: FeedbackStore,
) -> None:
    answer_id = store.record_answer(make_answer("Q"), source="web")
    assert store.rated() == []
    with pytest.raises(KbError, match="no answer 'nope' to rate"):
        store.rate("nope", "up", "ann")
    with pytest.raises(KbError, match="'up' or 'down'"):
        store.rate(answer_id, "meh", "ann")


def test_what_is_kept_survives_reopening(store: FeedbackStore, tmp_path: Path) -> None:
    history = [{"role": "user", "content": "Earlier"}, {"role": "assistant", "content": "Yes"}]
    answer_id = store.record_answer(make_answer("And privacy?"), source="web", history=history)
    store.rate(answer_id, "down", "ann")
    store.close()
    [rated] = FeedbackStore(tmp_path / "fb" / "feedback.sqlite3").rated()
    assert rated.history == tuple(history) and rated.question == "And privacy?"
    assert [p.source for p in rated.passages] == ["docs/costs.md", "docs/privacy.md"]
    assert rated.answer.startswith("Self-hosting is cheaper [1]")
    passages = rated.record["passages"]
    assert passages[0]["source"] == "docs/costs.md" and "cheaper at volume" in passages[0]["text"]
    assert rated.backend == make_answer("x").backend


def test_threads_rate_at_once_without_losing_a_click(store: FeedbackStore) -> None:
    ids = [store.record_answer(make_answer(f"Q{n}"), source="web") for n in range(4)]

    def click(user: int) -> None:
        for answer_id in ids:
            store.rate(answer_id, "down" if user % 2 else "up", f"user{user}")

    threads = [threading.Thread(target=click, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.ups, r.downs) for r in store.rated()) == [(4, 4)] * 4


def test_a_newer_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(SchemaTooNewError, match="KB_FEEDBACK__DB"):
        FeedbackStore(path)


def test_disliked_answers_become_eval_rows_a_person_can_finish(
    store: FeedbackStore, tmp_path: Path
) -> None:
    liked = store.record_answer(make_answer("Liked?"), source="web")
    history = [{"role": "user", "content": "Earlier"}, {"role": "assistant", "content": "Yes"}]
    disliked = store.record_answer(make_answer("And privacy?"), source="slack", history=history)
    store.rate(liked, "up", "ann")
    store.rate(disliked, "down", "ann")
    [row] = disliked_rows(store.rated())
    assert row["id"] == f"fb-{disliked[:12]}" and row["question"] == "And privacy?"
    assert row["type"] == "followup" and row["history"] == history
    assert "answer_must" not in row and row["gold_snippets"] == [] and row["answer"] == ""
    assert row["gold_files"] == ["docs/costs.md", "docs/privacy.md"]
    assert row["kb_answer"].startswith("Self-hosting") and row["kb_passages"][1]["text"]
    assert row["kb_from"] == "slack" and row["rated_by_count"] == 1
    assert [p["cited"] for p in row["kb_passages"]] == [True, True]
    finished = tmp_path / "from-users.jsonl"  # what a person saves after adding answer_must
    finished.write_text(json.dumps(row | {"answer_must": ["premises"]}) + "\n")
    assert load_questions(finished)[0]["question"] == "And privacy?"
