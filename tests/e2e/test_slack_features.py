"""Slack as people use it, each check run twice: over HTTP (requests signed like Slack's) and
over the real Socket Mode WebSocket. Follow-ups without a mention, threads kb is not in,
`@kb stop`, `/kb` public and private, the App Home, a restart between two turns. What the bot
sent is asserted on the Web API recorder (and the response URLs' posts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from assistant.answering.models import AnswerOptions
from assistant.conversations.store import ConversationStore
from assistant.feedback.store import FeedbackStore
from assistant.frontends.slack.app import build_slack_app
from assistant.settings import Settings
from tests.support.slack_transport import MODES, SlackTransport, running_bot
from tests.unit.assistant.conftest import make_page_parts, retriever  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

THREAD = "1700000000.000100"
QUESTION = "Is self-hosting cheaper at high volumes?"

Start = Callable[..., AbstractContextManager[SlackTransport]]


@pytest.fixture(params=MODES)
def start(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest,
    retriever,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Start]:
    """`start(store=None, **parts)` runs a bot (new parts each time: a restart) in this mode."""
    monkeypatch.setenv("KB_INDEX__DIR", str(tmp_path / "index"))

    def run(
        store: ConversationStore | None = None,
        feedback: Any = None,
        replies: Any = None,
        update_every_s: float = 0.01,
    ) -> Any:
        parts = make_page_parts(retriever, tmp_path / "uploads", replies, store, feedback)
        make = lambda listeners: build_slack_app(parts.session, Settings(), listeners)  # noqa: E731
        return running_bot(request.param, make, monkeypatch, update_every_s)

    yield run


def mention(text: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": "U1", "team": "T1", "channel": "C1"}
    event |= {"text": f"<@UKB> {text}", "ts": ts, "event_ts": ts}
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def channel_message(text: str, ts: str, thread_ts: str | None = THREAD) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "channel", "user": "U2", "team": "T1"}
    event |= {"channel": "C1", "text": text, "ts": ts, "event_ts": ts}
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def answers(slack: SlackTransport) -> list[dict[str, Any]]:
    """The finished answers (edits that carry blocks)."""
    return [u for u in slack.recorder.of("chat.update") if u.get("blocks")]


def replies_in(slack: SlackTransport, thread: str) -> list[str]:
    return [m["text"] for m in slack.recorder.of("chat.postMessage") if m["thread_ts"] == thread]


def ask_in_thread(slack: SlackTransport) -> None:
    slack.event(mention(QUESTION, THREAD))
    slack.recorder.wait_for(lambda: len(answers(slack)) == 1)


def test_a_follow_up_without_a_mention_is_answered_in_the_thread(start: Start) -> None:
    with start() as slack:
        ask_in_thread(slack)
        slack.event(channel_message("And what about privacy?", "1700000000.000300"))
        slack.recorder.wait_for(lambda: len(answers(slack)) == 2)
        assert len(replies_in(slack, THREAD)) == 2  # both answers in the thread
        assert "[1]" in answers(slack)[1]["text"]
        also_in_channel = channel_message("And the costs?", "1700000000.000310")
        slack.event(also_in_channel | {"subtype": "thread_broadcast"})  # "Also send to #channel"
        slack.recorder.wait_for(lambda: len(answers(slack)) == 3)
        slack.event(channel_message("edited", "1700000000.000320") | {"subtype": "message_changed"})
        slack.listeners.wait_idle()
        assert len(answers(slack)) == 3  # edits are not questions


def test_messages_outside_kbs_threads_or_to_someone_else_are_ignored(start: Start) -> None:
    with start() as slack:
        ask_in_thread(slack)
        slack.event(channel_message("Who wants lunch?", "1700000000.000400", None))  # top level
        slack.event(channel_message("Any idea?", "1700000000.000500", "1700000000.000450"))
        slack.event(channel_message("<@U3> can you check?", "1700000000.000600"))  # to U3
        slack.listeners.wait_idle()
        assert len(slack.recorder.of("chat.postMessage")) == 1  # only the first answer


def test_stop_makes_kb_leave_the_thread_until_mentioned_again(start: Start) -> None:
    with start() as slack:
        ask_in_thread(slack)
        slack.event(mention("stop", "1700000000.000200", THREAD))
        slack.recorder.wait_for(lambda: len(replies_in(slack, THREAD)) == 2)
        assert "stay out of this thread" in replies_in(slack, THREAD)[1]
        slack.event(channel_message("And what about privacy?", "1700000000.000300"))
        slack.listeners.wait_idle()
        assert len(replies_in(slack, THREAD)) == 2 and len(answers(slack)) == 1  # ignored
        slack.event(mention("And what about privacy?", "1700000000.000400", THREAD))
        slack.recorder.wait_for(lambda: len(answers(slack)) == 2)  # a mention brings it back
        slack.event(channel_message("Thanks, and the costs?", "1700000000.000500"))
        slack.recorder.wait_for(lambda: len(answers(slack)) == 3)


def test_a_restart_between_two_turns_keeps_the_thread_and_its_stop(
    start: Start, tmp_path: Path
) -> None:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    with start(store) as slack:
        ask_in_thread(slack)
        slack.event(mention(QUESTION, "1700000000.000900"))  # a second thread, then stopped
        slack.recorder.wait_for(lambda: len(answers(slack)) == 2)
        slack.event(mention("stop", "1700000000.000950", "1700000000.000900"))
        slack.recorder.wait_for(lambda: len(replies_in(slack, "1700000000.000900")) == 2)
    with start(store) as slack:  # a new bot process, in effect: nothing in memory
        slack.event(channel_message("And what about privacy?", "1700000000.000300"))
        slack.recorder.wait_for(lambda: len(answers(slack)) == 1)
        slack.event(channel_message("And privacy?", "1700000000.000990", "1700000000.000900"))
        slack.listeners.wait_idle()
        assert replies_in(slack, THREAD) and not replies_in(slack, "1700000000.000900")
    saved = store.get(f"slack:T1/C1/{THREAD}", f"slack:T1/C1/{THREAD}")
    assert [t.question for t in saved.turns] == [QUESTION, "And what about privacy?"]


@pytest.mark.parametrize("private", [False, True])
def test_slash_command_answers_for_everyone_or_only_the_asker(start: Start, private: bool) -> None:
    with start() as slack:
        ack = slack.command(f"-p {QUESTION}" if private else QUESTION)
        assert ack["response_type"] == "ephemeral" and "Searching" in ack["text"]
        slack.recorder.wait_for(lambda: slack.responses())
        [posted] = slack.responses()
        assert posted["response_type"] == ("ephemeral" if private else "in_channel")
        asked, answer = posted["blocks"][0], posted["blocks"][1:]
        assert asked["elements"][0]["text"] == f"<@U1> asked: “{QUESTION}”"
        assert any("[1]" in b.get("text", {}).get("text", "") for b in answer)
        assert not slack.recorder.of("chat.postMessage")  # no thread, no channel post


def test_slash_command_without_a_question_explains_itself(start: Start) -> None:
    with start() as slack:
        ack = slack.command("  ")
        assert "/kb -p QUESTION" in ack["text"] and ack["response_type"] == "ephemeral"
        slack.listeners.wait_idle()
        assert not slack.responses()


def test_app_home_shows_the_index_backends_how_to_and_my_questions(
    start: Start, tmp_path: Path
) -> None:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    home = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    with start(store) as slack:
        slack.event(home | {"event_ts": "1700000000.000001"})
        slack.recorder.wait_for(lambda: slack.recorder.of("views.publish"))
        first = slack.recorder.of("views.publish")[0]
        assert first["user_id"] == "U1" and first["view"]["type"] == "home"
        text = str(first["view"]["blocks"])
        assert (
            "*Documents:* 3 (" in text
            and "Costs" in text
            and "*Model:* Scripted test model" in text
        )
        assert "`fake`, `fake-2`" in text and "hosted-openai" not in text  # available ones only
        assert "*Last sync:* <!date^" in text and "/kb -p QUESTION" in text
        assert "None yet" in text
        ask_in_thread(slack)
        slack.recorder.wait_for(lambda: store.questions_asked_by("T1/U1"))  # saved after posting
        slack.event(home | {"event_ts": "1700000000.000999"})
        slack.recorder.wait_for(lambda: len(slack.recorder.of("views.publish")) == 2)
        mine = str(slack.recorder.of("views.publish")[1]["view"]["blocks"])
        link = f"<https://kb-test.slack.com/archives/C1/p{THREAD.replace('.', '')}|{QUESTION}>"
        assert link in mine


def test_thumbs_are_acknowledged_and_stored_with_the_answer(start: Start, tmp_path: Path) -> None:
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    with start(feedback=feedback) as slack:
        ask_in_thread(slack)
        [buttons] = [b for b in answers(slack)[0]["blocks"] if b["type"] == "actions"]
        up, down = buttons["elements"]
        assert (up["action_id"], down["action_id"]) == ("kb_feedback_up", "kb_feedback_down")
        assert up["value"] == down["value"] and len(down["value"]) == 32
        slack.click("kb_feedback_down", down["value"], user="U1")  # acked within 3 s
        slack.click("kb_feedback_up", up["value"], user="U2")
        slack.click("kb_feedback_up", "0" * 32, user="U3")  # buttons of another kb
        slack.recorder.wait_for(lambda: len(slack.responses()) == 3)
        thanks = sorted(r["text"] for r in slack.responses())
        assert thanks[0].startswith("Not stored: no answer")
        assert "👍 noted" in thanks[1] and "👎 noted" in thanks[2]
        assert {r["response_type"] for r in slack.responses()} == {"ephemeral"}
    [rated] = feedback.rated()
    assert (rated.ups, rated.downs) == (1, 1)  # U1's 👎 and U2's 👍
    assert rated.question == QUESTION and "[1]" in rated.answer and rated.source == "slack"
    assert rated.backend == "fake" and rated.record["passages"][0]["text"]


def test_a_slash_answer_can_be_rated_too(start: Start, tmp_path: Path) -> None:
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    with start(feedback=feedback) as slack:
        slack.command(f"-p {QUESTION}")
        slack.recorder.wait_for(lambda: slack.responses())
        [buttons] = [b for b in slack.responses()[0]["blocks"] if b["type"] == "actions"]
        slack.click("kb_feedback_down", buttons["elements"][1]["value"])
        slack.recorder.wait_for(lambda: len(slack.responses()) == 2)
    assert [r.source for r in feedback.rated("down")] == ["slack-command"]


def _long_reply(messages: Any) -> str:
    """About 6,000 characters citing each of the ten passages the model was given."""
    paragraph = (
        "Owning the hardware spreads a fixed cost over every request, while per-token fees grow "
        "with each call the application makes; the break-even point moves with volume, staff "
        "and utilisation, so teams should measure their own traffic before they decide [{n}]. "
    )
    return "\n\n".join((paragraph * 3).format(n=n) for n in range(1, 11))


def test_an_answer_of_6000_characters_with_10_sources_is_sent_as_valid_blocks(
    retriever: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(1, 11):  # ten documents, all about the question
        (tmp_path / "docs" / f"volume-{n}.md").write_text(
            f"# Volume {n}\n\nAt high volumes self-hosting is cheaper than per-token fees "
            f"(case {n}): owning hardware spreads its fixed cost over every request.\n"
        )
    from index.builder import ingest_paths
    from index.config import IndexConfig
    from index.retriever import HybridRetriever
    from index.storage import load_index

    embedder = retriever._embedder
    ingest_paths([Path("docs")], IndexConfig(Path("index")), embedder)
    wide = HybridRetriever(load_index(Path("index")), embedder)
    parts = make_page_parts(wide, tmp_path / "uploads", _long_reply)
    permissive = {"top_k": 10, "min_relevance": 0.0, "attribution_threshold": 0.0}
    parts.session.assistant.options = AnswerOptions(
        **permissive, echo_threshold=2.0, drop_below=9.0
    )
    make = lambda listeners: build_slack_app(parts.session, Settings(), listeners)  # noqa: E731
    with running_bot("http", make, monkeypatch) as slack:
        slack.event(mention(QUESTION, THREAD))
        slack.recorder.wait_for(lambda: answers(slack))
    final = answers(slack)[0]
    assert slack.recorder.rejected == []  # the stand-in checks blocks and text as Slack does
    sections = [b["text"]["text"] for b in final["blocks"] if b["type"] == "section"]
    assert sum(len(text) for text in sections) >= 6000 and len(sections) >= 3
    sources = [e["text"] for b in final["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert sum(text.startswith("*[") for text in sources) == 10


def test_the_growing_answer_is_mrkdwn_too(start: Start) -> None:
    reply = "**Yes.** Self-hosting open models is cheaper at very high volumes [1]."
    with start(replies=[reply], update_every_s=1e-9) as slack:  # an edit for every word
        ask_in_thread(slack)
    edits = [u["text"] for u in slack.recorder.of("chat.update") if not u.get("blocks")]
    growing = [text for text in edits if "Yes" in text]
    assert growing and all("**" not in text for text in growing)
    assert any("*Yes.* Self-hosting" in text for text in growing)


def test_a_document_another_process_ingested_is_searched_at_the_next_question(
    start: Start, tmp_path: Path
) -> None:
    import json

    from index.builder import ingest_paths
    from index.config import IndexConfig
    from tests.support.fakes import HashingEmbedder

    with start() as slack:
        ask_in_thread(slack)
        assert "zorblax" not in json.dumps(answers(slack)[0]["blocks"])
        (tmp_path / "docs" / "zorblax.md").write_text("# Zorblax\n\nZorblax met the Quillon.\n")
        ingest_paths(
            [Path("docs")],
            IndexConfig(Path("index")),
            HashingEmbedder(),
        )
        slack.event(mention("Did Zorblax meet the Quillon?", "1700000000.000700"))  # a new thread
        slack.recorder.wait_for(lambda: len(answers(slack)) == 2)
        assert "docs/zorblax.md" in json.dumps(answers(slack)[1]["blocks"])
