"""`python -m assistant` is `kb`."""

from assistant.frontends.cli import main

main()
