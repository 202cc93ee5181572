"""The `ihub` console script: settle the environment first, then hand over to the CLI.

Prefect is not imported here: the commands that need it import it, and set up its embedded
server (`ihub.embedded`) just before they use it. Help needs no hub, so it opens (or creates) none.
"""

import sys


def main() -> None:
    args = sys.argv[1:]
    if args and "--help" not in args:
        from ihub.settings import configure_environment

        configure_environment()
    from ihub.cli import app

    app()
