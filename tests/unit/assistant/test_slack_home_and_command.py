"""The Home tab's view and `/kb`'s parsing, as pure functions: Slack's limits kept whatever the
index holds, questions that could break a link label, `-p` only at the start."""

from assistant.frontends.slack.command import SlashQuestion
from assistant.frontends.slack.home import HomeFacts, RecentQuestion, home_view


def facts(documents: int = 3, title: str = "Costs") -> HomeFacts:
    return HomeFacts(
        documents=documents,
        chunks=documents * 4,
        titles=tuple(f"{title} {n}" for n in range(min(documents, 10))),
        collections={"default": documents},
        model="Local · Qwen2.5-Coder-1.5B",
        backends=("local", "local-small"),
        last_sync=1_800_000_000.0,
    )


def texts(view: dict) -> list[str]:  # type: ignore[type-arg]
    return [b["text"]["text"] for b in view["blocks"] if "text" in b]


def test_a_big_index_with_long_titles_stays_within_slacks_limits() -> None:
    view = home_view(facts(5000, "A very long title " * 40), [])
    assert all(len(text) <= 3000 for text in texts(view))
    assert "*Documents:* 5000 (20000 passages)" in texts(view)[1]
    assert "and 4990 more" in texts(view)[1]
    assert view["type"] == "home" and len(view["blocks"]) <= 100


def test_recent_questions_link_to_their_threads_and_cannot_break_the_link() -> None:
    recent = [
        RecentQuestion("Costs | <!channel> at scale?", "https://x.slack.com/archives/C1/p1", 1.0),
        RecentQuestion("No link for this one", None, 2.0),
    ]
    text = texts(home_view(facts(), recent))[-1]
    assert "• <https://x.slack.com/archives/C1/p1|Costs ¦ &lt;!channel&gt; at scale?>" in text
    assert "• No link for this one" in text


def test_no_index_yet_says_how_to_make_one() -> None:
    empty = HomeFacts(0, 0, (), {}, "local", ("local",), None)
    text = texts(home_view(empty, []))[1]
    assert "_none yet_" in text and "never (run `kb ingest`)" in text


def test_slash_text_private_only_with_a_leading_flag() -> None:
    assert SlashQuestion.parse("-p  Is it  cheaper?") == SlashQuestion("Is it cheaper?", True)
    assert SlashQuestion.parse("--private Is it?").private
    assert SlashQuestion.parse("Is -p a flag?") == SlashQuestion("Is -p a flag?", False)
    assert SlashQuestion.parse("-pricing now") == SlashQuestion("-pricing now", False)
    assert SlashQuestion.parse("-p").question == ""
    assert SlashQuestion("q", True).response_type == "ephemeral"
