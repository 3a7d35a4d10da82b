"""Web assistant entry point: load settings, build the assistant, launch the page on loopback."""

import argparse
import logging

from assistant.wiring import enforce_offline

enforce_offline()

from assistant.frontends.web import serve  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="kb web assistant")
    parser.add_argument("--host", default=None, help="default: settings (127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="default: settings (7860)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    serve(settings, args.host or settings.web.host, args.port or settings.web.port)


if __name__ == "__main__":
    main()
