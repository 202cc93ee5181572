"""`ihub serve` and `ihub deploy`: the hub's deployments on a real Prefect server."""

from __future__ import annotations

import os

import anyio
import typer

from ihub.commands.common import console, done, fail
from models.engine import migrate


def _needs_server(command: str) -> str:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        fail(f"`ihub {command}` needs a Prefect server that outlives it: start one with `prefect server start` "
             "and set PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Running in production)")
    return url


def _report(changes) -> None:
    for name in changes.applied:
        done(f"deployment {name}")
    for name in changes.removed:
        console.print(f"[yellow]−[/] deployment {name} removed: its integration is gone", highlight=False)
    for line in changes.reaped:
        console.print(f"[yellow]![/] {line}", highlight=False)


def serve(
    poll: float = typer.Option(10.0, min=1, help="Seconds between two reads of the database."),
    limit: int = typer.Option(None, min=1, help="At most this many runs at once (Prefect's default if unset)."),
) -> None:
    """Serve a deployment per integration (its schedule, paused unless Active) plus the on-demand
    flows, and keep them in step with the database; runs until Ctrl+C or SIGTERM."""
    from deployments.serve import serve as serve_deployments

    url = _needs_server("serve")
    migrate()
    console.print(f"Serving the hub's deployments on {url}; the database is re-read every {poll:g} s "
                  "(Ctrl+C or SIGTERM stops).", highlight=False)
    try:
        anyio.run(serve_deployments, poll, _report, limit, _tell)
    except KeyboardInterrupt:  # a second Ctrl+C while stopping
        pass
    console.print("Stopped: the deployments' schedules are paused until `ihub serve` starts again.")


def _tell(line: str) -> None:
    console.print(line, highlight=False, markup=False, soft_wrap=True)  # one line each, in a log file too


def deploy(
    pool: str = typer.Option(..., "--pool", help="The work pool (a process pool is created if it does not exist)."),
    watch: float = typer.Option(0, min=0, help="Keep the deployments in step, re-reading every this many seconds."),
) -> None:
    """Register the same deployments on a work pool, for `prefect worker start --pool POOL` on one or many machines."""
    from deployments.serve import deploy as deploy_deployments

    url = _needs_server("deploy")
    migrate()
    try:
        anyio.run(deploy_deployments, pool, watch or None, _report)
    except KeyboardInterrupt:
        console.print("Stopped.")
        return
    console.print(f"Deployments registered on {url} for work pool '{pool}': start workers with "
                  f"`prefect worker start --pool {pool}` where the hub is installed and IHUB_DATABASE_URL is set.",
                  highlight=False)
