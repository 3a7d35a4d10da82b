"""Web assistant entry point: load settings, build the assistant and page, serve on loopback."""

import argparse
import logging
import sys

from assistant.errors import KbError
from assistant.log_redaction import redact_logs
from assistant.settings import load_settings
from assistant.telemetry.json_logs import use_log_format
from assistant.wiring import enforce_offline


def main() -> int:
    """Serve the page until interrupted; exit 1 with the reason when it cannot start."""
    enforce_offline()  # before Gradio (and the Hugging Face hub client under it) is imported
    from assistant.frontends.web.page import serve

    parser = argparse.ArgumentParser(description="kb web assistant")
    parser.add_argument("--host", default=None, help="default: settings (127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="default: settings (7860)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per local request otherwise
    redact_logs()
    try:
        settings = load_settings()
        use_log_format(settings.log.format)
        serve(settings, args.host or settings.web.host, args.port or settings.web.port)
    except KbError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
