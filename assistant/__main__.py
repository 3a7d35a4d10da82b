"""`python -m assistant` is `kb`."""

from assistant.frontends.cli.main import main

main()
