"""`python -m tests.support.fake_kb ARGS`: kb's CLI in a child process, with the fakes installed."""

import sys

from assistant.frontends.cli.main import run
from tests.support.fakes import install

if __name__ == "__main__":
    install()
    sys.exit(run(sys.argv[1:]))
