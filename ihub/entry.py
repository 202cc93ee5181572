"""The `ihub` console script: settle the environment first, then hand over to the CLI."""


def main() -> None:
    from ihub.settings import configure_environment

    configure_environment()
    from ihub.embedded import use_own_session_server

    use_own_session_server()
    from ihub.cli import app

    app()
