"""The `ihub` console script: settle the environment first, then hand over to the CLI.

Prefect is not imported here: the commands that need it import it, and set up its embedded
server (`ihub.embedded`) just before they use it.
"""


def main() -> None:
    from ihub.settings import configure_environment

    configure_environment()
    from ihub.cli import app

    app()
