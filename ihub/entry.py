"""The `ihub` console script: settle the environment first, then hand over to the CLI."""

import os


def main() -> None:
    from ihub.settings import configure_environment

    configure_environment()
    if not os.environ.get("PREFECT_API_URL"):  # importing Prefect's server costs seconds: only when it is needed
        from ihub.embedded import use_own_session_server

        use_own_session_server()
    from ihub.cli import app

    app()
