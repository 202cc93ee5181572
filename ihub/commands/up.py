"""`ihub up`: the whole hub (Prefect server, `ihub serve`, console and REST API) in one command."""

from __future__ import annotations

import typer

from ihub.commands.common import fail


def up(
    host: str = typer.Option("127.0.0.1", help="Address the console, the API and the Prefect server listen on."),
    port: int = typer.Option(8000, help="Port of the console (/) and the REST API (/api/v1)."),
    prefect_port: int = typer.Option(4200, help="Port of the Prefect server and its UI (unused with PREFECT_API_URL)."),
    poll: float = typer.Option(10.0, min=1, help="Seconds between two reads of the database by `ihub serve`."),
) -> None:
    """Start the whole hub: a Prefect server (its UI too), `ihub serve`, and the console with the REST API;
    every other command uses that Prefect server; runs until Ctrl+C or SIGTERM."""
    from ihub.up import Hub, UpError
    from models.engine import hub_home

    try:
        code = Hub(hub_home(), host, port, prefect_port, poll).run()
    except UpError as exc:
        fail(str(exc))
    raise typer.Exit(code)
