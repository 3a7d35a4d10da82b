"""The Slack bot's wiring: the Bolt app and the two ways Slack reaches it (Socket Mode, or the
Events API over HTTP), over the same `Assistant` and backend pool as the web page.

Events: mentions, DMs and follow-ups in the threads kb is in go to `SlackBot`
(bot.py); `app_home_opened` publishes the Home tab (home.py); `/kb` is the slash
command (command.py); the 👍/👎 buttons are recorded (feedback.py). Building the
app never calls Slack, so it starts and is tested offline; `api_base_url` points the Web API
elsewhere.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from assistant.backends.profiles import read_key
from assistant.errors import ConfigurationError
from assistant.frontends.slack.bot import LruMap, RateLimiter, SlackBot, SlackThread, thread_key
from assistant.frontends.slack.command import register_command
from assistant.frontends.slack.feedback import register_feedback
from assistant.frontends.slack.home import publish_home
from assistant.frontends.slack.http import EventsServer, HttpLimits
from assistant.session import Session
from assistant.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "LruMap",
    "RateLimiter",
    "SlackBot",
    "SlackThread",
    "build_slack_app",
    "serve",
    "thread_key",
]


def _secret(variable: str) -> str | None:
    value = read_key(variable)
    return value.get_secret_value() if value else None


def build_slack_app(
    session: Session, settings: Settings, listener_executor: Executor | None = None
) -> App:
    """The Bolt app over `session`; nothing here talks to Slack (no token check at
    construction). Listeners run on `listener_executor` after the ack (Bolt's own thread pool
    when None); tests pass one they can wait on. Threads are saved when the session has a
    conversations store; answers get 👍/👎 buttons when it has a feedback store."""
    token = _secret(settings.slack.bot_token_env)
    if token is None:
        raise ConfigurationError(f"set {settings.slack.bot_token_env} (the bot's xoxb- token)")
    client = WebClient(token=token, base_url=settings.slack.api_base_url or WebClient.BASE_URL)
    signing_secret = _secret(settings.slack.signing_secret_env)
    app = App(
        token=token,
        client=client,
        # Socket Mode has no signature to check; HTTP mode needs the secret (`serve`).
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        token_verification_enabled=False,
        ignoring_self_events_enabled=False,  # would call auth.test; bot messages are skipped anyway
        listener_executor=listener_executor,
    )
    bot = SlackBot(session, settings)

    def on_event(event: dict[str, Any], client: WebClient, request: Any, context: Any) -> None:
        retry = request.headers.get("x-slack-retry-num")
        in_channel = event.get("type") == "message" and event.get("channel_type") != "im"
        if in_channel and not bot.follows(event, context.bot_user_id):
            return  # in channels: mentions, and follow-ups in the threads kb is in
        if bot.should_answer(event, retry[0] if retry else None):
            bot.handle(event, client)

    def on_home_opened(event: dict[str, Any], client: WebClient, context: Any) -> None:
        if event.get("tab") == "home":
            publish_home(bot, client, context.team_id or "", event["user"])

    app.event("app_mention")(on_event)
    app.event("message")(on_event)
    app.event("app_home_opened")(on_home_opened)
    register_command(app, bot)
    if session.feedback is not None:
        register_feedback(app, session.feedback)
    return app


def http_server(
    app: App,
    host: str,
    port: int,
    signing_secret: str,
    path: str = "/slack/events",
    limits: HttpLimits | None = None,
) -> EventsServer:
    """Events API over HTTP (assistant/frontends/slack/http.py); `serve_forever()` to run."""
    return EventsServer(app, host, port, path, signing_secret, limits or HttpLimits())


def run_socket_mode(app: App, app_token: str, stop: threading.Event | None = None) -> Any:
    """Connect over Socket Mode (no public URL) and block until interrupted or `stop` is set;
    returns the handler, closed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
        log.info("kb slack: connected over Socket Mode")
        (stop or threading.Event()).wait()  # `kb slack` passes none: it runs until Ctrl-C
    except KeyboardInterrupt:
        log.info("kb slack: stopping")
    finally:
        handler.close()
    return handler


def serve(settings: Settings, http: bool, host: str, port: int) -> None:
    """`kb slack`: build the assistant and the app, then Socket Mode or HTTP events."""
    from assistant.wiring import build_session

    signing_secret = _secret(settings.slack.signing_secret_env)
    if http and not signing_secret:
        raise ConfigurationError(f"set {settings.slack.signing_secret_env} for --http")
    app_token = None if http else _secret(settings.slack.app_token_env)
    if not http and app_token is None:
        raise ConfigurationError(f"set {settings.slack.app_token_env} (xapp- token) or use --http")
    app = build_slack_app(build_session(settings), settings)
    if http and signing_secret:
        server = http_server(app, host, port, signing_secret)
        log.info("kb slack: Events API on http://%s:%d/slack/events", host, port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.shutdown()
    elif app_token is None:
        raise ConfigurationError("Socket Mode needs an app-level token: set SLACK_APP_TOKEN")
    else:
        run_socket_mode(app, app_token)
