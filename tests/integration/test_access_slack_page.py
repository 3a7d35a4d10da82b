"""Access by collection in Slack and on the page. Slack: two channels opening different
collections and a default for the rest (DMs, the App Home), through the real Bolt app over
HTTP with Slack-signed requests; threads, `@kb use collection`, `/kb` and the App Home. The
page: a login opening one collection; its chat, `/ask` (over HTTP, logged in), a document
opened, the Documents tab, the collection picker and an upload. No response holds a word
found only outside the caller's collections. Fakes answer over a real index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gradio_client import Client

from assistant.access import Caller
from assistant.frontends.slack.app import build_slack_app
from assistant.frontends.web.documents import DocumentsView, change_documents, seen_only
from assistant.frontends.web.events import (
    Conversation,
    PageParts,
    add_documents,
    answer_turn,
    ask_api,
    open_document,
)
from assistant.frontends.web.page import _picker_update, build_web_ui
from assistant.frontends.web.server import launch
from assistant.settings import Settings
from harness.http_servers import free_port
from tests.support.scoped_kb import (
    ENG_QUESTION,
    ENG_WORD,
    HR_QUESTION,
    HR_WORD,
    scoped_parts,
    words_outside,
)
from tests.support.slack_transport import SlackTransport, running_bot

ANN = Caller("page", "ann", frozenset({"eng"}))
HR_DOC = "docs/hr/bonus.md"


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageParts:
    monkeypatch.chdir(tmp_path)
    return scoped_parts(tmp_path, {"ann": frozenset({"eng"})})


@pytest.fixture
def slack(parts: PageParts, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackTransport]:
    """The bot: channel C1 sees `public`, C2 sees `eng`, other channels and DMs `public`."""
    monkeypatch.setenv("KB_SLACK__CHANNEL_COLLECTIONS", '{"C1": ["public"], "C2": ["eng"]}')
    monkeypatch.setenv("KB_SLACK__DEFAULT_COLLECTIONS", '["public"]')

    def make(listeners: Any) -> Any:
        return build_slack_app(parts.session, Settings(), listeners)

    with running_bot("http", make, monkeypatch) as transport:
        yield transport


def _mention(text: str, ts: str, channel: str) -> dict[str, Any]:
    event = {"type": "app_mention", "user": "U1", "team": "T1", "channel": channel}
    return event | {"text": f"<@UKB> {text}", "ts": ts, "event_ts": ts}


def _finished(slack: SlackTransport) -> list[dict[str, Any]]:
    return [u for u in slack.recorder.of("chat.update") if u.get("blocks")]


def test_a_slack_channel_never_sees_outside_its_collections(slack: SlackTransport) -> None:
    slack.event(_mention(HR_QUESTION, "1.1", "C1"))
    slack.event(_mention(ENG_QUESTION, "2.1", "C2"))
    slack.recorder.wait_for(lambda: len(_finished(slack)) == 2)
    by_channel = {u["channel"]: str(u) for u in _finished(slack)}
    assert words_outside(by_channel["C1"]) == []
    assert words_outside(by_channel["C2"]) == [ENG_WORD]  # C2 may see eng: the check sees it
    assert "Searched: public (as slack T1/U1/C1)" in by_channel["C1"]


def test_a_slack_thread_cannot_widen_its_channels_collections(slack: SlackTransport) -> None:
    slack.event(_mention("use collection hr", "3.1", "C1"))
    slack.recorder.wait_for(lambda: slack.recorder.of("chat.postMessage"))
    reply = slack.recorder.of("chat.postMessage")[0]["text"]
    assert "I can't" in reply and "not allowed to search hr" in reply
    slack.event(_mention(HR_QUESTION, "3.2", "C1") | {"thread_ts": "3.1"})
    slack.recorder.wait_for(lambda: _finished(slack))
    assert words_outside(str(slack.recorder.calls)) == []


def test_slash_command_and_app_home_see_only_their_collections(slack: SlackTransport) -> None:
    slack.command(HR_QUESTION, channel="C2")
    slack.recorder.wait_for(lambda: slack.responses())
    assert words_outside(str(slack.responses()), ENG_WORD) == []
    home = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    slack.event(home | {"event_ts": "4.1"})
    slack.recorder.wait_for(lambda: slack.recorder.of("views.publish"))
    shown = str(slack.recorder.of("views.publish")[0]["view"]["blocks"])
    assert words_outside(shown) == [] and "*Documents:* 1 (" in shown


def _chat(parts: PageParts, question: str, caller: Caller, collections: list[str]) -> str:
    convo = Conversation("fake", collections=collections)
    *_, (_, chat, _, sources) = answer_turn(parts, question, [], convo, None, caller)
    return str(chat) + sources


def test_a_page_login_never_sees_outside_its_collections(parts: PageParts) -> None:
    assert words_outside(_chat(parts, HR_QUESTION, ANN, []), ENG_WORD) == []
    refused = _chat(parts, HR_QUESTION, ANN, ["hr"])
    assert "not allowed to search hr" in refused and words_outside(refused) == []
    assert words_outside(str(ask_api(parts, HR_QUESTION, caller=ANN)), ENG_WORD) == []
    key = f"{HR_DOC}|0|10"  # what a source link of that document carries
    assert "Cannot open that document" in open_document(parts, key, ANN)
    assert HR_WORD not in open_document(parts, key, ANN).lower()
    assert DocumentsView.of(parts, "", ANN).paths == ["docs/eng/deploy.md"]
    assert _picker_update(parts, Conversation("fake"), ANN)["choices"] == ["eng"]
    as_ann: Any = SimpleNamespace(username="ann")  # what Gradio's request says of the login
    removal = change_documents(seen_only(parts, parts.session.library.remove, as_ann), [HR_DOC])
    assert "❌" in removal and HR_DOC in DocumentsView.of(parts, "").paths
    upload = add_documents(parts, ["x.md"], None, "hr", ANN)[0]
    assert "add to one of your collections: eng" in upload
    everyone = Caller("page", "loopback")  # the check can see the word
    assert words_outside(_chat(parts, HR_QUESTION, everyone, []), ENG_WORD) == [HR_WORD]


@pytest.fixture
def page_url(parts: PageParts) -> Iterator[str]:
    port = free_port()
    logins = [("ann", "ann-password-1")]
    server = launch(build_web_ui(parts), parts, "127.0.0.1", port, False, logins)
    assert server is not None
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()


def test_the_pages_ask_endpoint_answers_a_login_within_its_collections(page_url: str) -> None:
    client = Client(page_url, auth=("ann", "ann-password-1"), verbose=False)
    answered = client.predict(HR_QUESTION, api_name="/ask")
    assert words_outside(str(answered), ENG_WORD) == []
    assert answered["scope"] == "Searched: eng (as page ann)"
