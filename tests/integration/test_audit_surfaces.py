"""The audit log written by concurrent answers from the page's `/ask`, the API (`/v1`, real
uvicorn) and Slack (the real Bolt app over HTTP, Slack-signed requests), all at once: every
answer is one record naming its surface, caller and scope, and `kb audit verify` passes; with
one field edited it fails, naming that record. Fakes answer over a real index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from assistant.access import Caller
from assistant.frontends.cli.main import run
from assistant.frontends.slack.app import build_slack_app
from assistant.frontends.web.api import ApiAccess
from assistant.frontends.web.events import PageParts, ask_api
from assistant.settings import Settings
from tests.support.page_server import serving
from tests.support.scoped_kb import ENG_QUESTION, HR_QUESTION, PUBLIC_TOKEN, TOKENS, scoped_parts
from tests.support.slack_transport import SlackTransport, running_bot

EACH = 4  # answers per surface, all asked at once


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageParts:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KB_AUDIT__DIR", str(tmp_path / "audit"))  # where `kb audit` reads
    return scoped_parts(tmp_path, {"ann": frozenset({"eng"})})


@pytest.fixture
def api_url(parts: PageParts) -> Iterator[str]:
    with serving(parts, ApiAccess(TOKENS, loopback=False)) as root:
        yield f"{root}/v1"


@pytest.fixture
def slack(parts: PageParts, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackTransport]:
    monkeypatch.setenv("KB_SLACK__CHANNEL_COLLECTIONS", '{"C1": ["public"]}')

    def make(listeners: Any) -> Any:
        return build_slack_app(parts.session, Settings(), listeners)

    with running_bot("http", make, monkeypatch) as transport:
        yield transport


def _everyone_at_once(parts: PageParts, api_url: str, slack: SlackTransport) -> None:
    client = openai.OpenAI(base_url=api_url, api_key=PUBLIC_TOKEN, max_retries=0, timeout=120)
    message = [{"role": "user", "content": HR_QUESTION}]
    ann = Caller("page", "ann", frozenset({"eng"}))

    def mention(n: int) -> None:
        ts = f"1700000000.{n:06d}"
        event = {"type": "app_mention", "user": "U1", "team": "T1", "channel": "C1"}
        slack.event(event | {"text": f"<@UKB> {HR_QUESTION}", "ts": ts, "event_ts": ts})

    with ThreadPoolExecutor(max_workers=3 * EACH) as pool:
        jobs = [pool.submit(mention, n) for n in range(EACH)]
        jobs += [
            pool.submit(ask_api, parts, ENG_QUESTION, None, None, None, ann) for _ in range(EACH)
        ]
        jobs += [
            pool.submit(client.chat.completions.create, model="kb-fake", messages=message)
            for _ in range(EACH)
        ]
        for job in jobs:
            job.result()
    answers = lambda: [u for u in slack.recorder.of("chat.update") if u.get("blocks")]  # noqa: E731
    slack.recorder.wait_for(lambda: len(answers()) == EACH)


def test_concurrent_answers_from_three_surfaces_make_a_log_that_verifies(
    parts: PageParts, api_url: str, slack: SlackTransport, capsys: pytest.CaptureFixture[str]
) -> None:
    _everyone_at_once(parts, api_url, slack)
    assert parts.session.audit_log is not None
    records = list(parts.session.audit_log.records())
    by_surface = sorted((r["surface"], r["caller"], tuple(r["scope"])) for r in records)
    assert by_surface == sorted(
        [("slack", "T1/U1/C1", ("public",))] * EACH
        + [("page", "ann", ("eng",))] * EACH
        + [("api", "public-reader", ("public",))] * EACH
    )
    assert run(["audit", "verify"]) == 0
    assert f"{3 * EACH} records" in capsys.readouterr().out


def test_one_edited_field_fails_verify_naming_the_record(
    parts: PageParts, capsys: pytest.CaptureFixture[str]
) -> None:
    ann = Caller("page", "ann", frozenset({"eng"}))
    for _ in range(3):
        ask_api(parts, ENG_QUESTION, caller=ann)
    assert parts.session.audit_log is not None
    log_file = parts.session.audit_log.current
    lines = log_file.read_text().splitlines()
    second = json.loads(lines[1])
    second["caller"] = "somebody-else"
    lines[1] = json.dumps(second, ensure_ascii=False)
    log_file.write_text("\n".join(lines) + "\n")
    assert run(["audit", "verify"]) == 1
    said = capsys.readouterr()
    assert second["id"] in said.out + said.err
