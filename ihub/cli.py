"""The `ihub` command line.

The commands of `ihub/commands/` load when they are used (`ihub.commands.lazy`): `ihub --help`
imports neither SQLModel nor Prefect, a database command imports no Prefect. Each one's summary
here is the first paragraph of its help (tests/test_cli_imports.py checks they agree).
"""

from __future__ import annotations

from typing import Optional

import typer

from ihub.commands.common import console, fail
from ihub.commands.lazy import lazy_group
from models.log_enums import Trigger

COMMANDS = {
    "up": ("ihub.commands.up:up", "Start the whole hub: a Prefect server (its UI too), `ihub serve`, and the console "
           "with the REST API; every other command uses that Prefect server; runs until Ctrl+C or SIGTERM."),
    "request": ("ihub.commands.manager:request",
                "Ask an integration to perform an action: a Queued log at once, then the run."),
    "logs": ("ihub.commands.manager:logs",
             "The newest action logs, filtered by integration, customer, status, action or time."),
    "log": ("ihub.commands.manager:log", "One action log in full: trigger, message, counts, flow-run id."),
    "status": ("ihub.commands.operations:status", "Every integration: status, schedule, last log update, "
               "last heartbeat and whether it has gone quiet."),
    "history": ("ihub.commands.operations:history", "The integration's runs, newest first: each action log with "
                "its Prefect state, and the runs Prefect has that wrote no log yet (the next scheduled one, "
                "pending, crashed at start)."),
    "serve": ("ihub.commands.serving:serve", "Serve a deployment per integration (its schedule, paused unless "
              "Active) plus the on-demand flows, and keep them in step with the database; runs until Ctrl+C or "
              "SIGTERM."),
    "deploy": ("ihub.commands.serving:deploy", "Register the same deployments on a work pool, for "
               "`prefect worker start --pool POOL` on one or many machines."),
}
"""Listed before the commands defined below, as `ihub --help` shows them."""
GROUPS = {
    "customers": ("ihub.commands.customers:app",
                  "Customers: the companies whose third-party systems the hub connects."),
    "endpoints": ("ihub.commands.endpoints:app",
                  "Integration endpoints: a customer's connection points to third-party systems."),
    "partners": ("ihub.commands.partners:app",
                 "Partner applications: the catalog, and connecting a customer's partners."),
    "integrations": ("ihub.commands.integrations:app",
                     "Integrations: what is synced, from where, when, and who hears about failures."),
    "mapping": ("ihub.commands.mapping:app",
                "Field mapping: which vendor field fills which hub field, and the primary key."),
    "actions": ("ihub.commands.manager:actions_app",
                "Integration actions: what an integration can do, e.g. Import Assets."),
    "credentials": ("ihub.commands.credentials:app",
                    "Credentials for universal-connector integrations, kept as Prefect blocks."),
    "smtp": ("ihub.commands.smtp:app", "The SMTP server and sender address of the alert e-mails."),
    "connectors": ("ihub.commands.connectors:app",
                   "Connector specs: test-read one before launching it, or write them from an OpenAPI document."),
}
"""Listed after the commands defined below."""

app = typer.Typer(help="Integration Hub: sync third-party systems into the hub, run as Prefect flows.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=lazy_group(COMMANDS, GROUPS))


@app.command()
def demo(assets: int = typer.Option(2500, min=1, help="How many assets the demo vendor serves.")) -> None:
    """Start the demo vendor, onboard a demo customer and sync its assets twice."""
    from ihub.demo import run_demo
    from models.engine import migrate

    migrate()
    if not run_demo(console, assets):
        raise typer.Exit(1)


@app.command("demo-vendor")
def demo_vendor(
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0 picks a free one)."),
    assets: int = typer.Option(2500, min=0),
    users: int = typer.Option(500, min=0),
    token: Optional[str] = typer.Option(None, help="API token to require; a random one by default."),
    prerender: str = typer.Option("", help="Page sizes to pre-render, e.g. 100,1000 (benchmarks)."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0,
                                     help="Added to every answer, as a distant vendor's would be."),
) -> None:
    """Serve the demo asset-management vendor API alone, until interrupted."""
    from ihub.vendor import bind, make_vendor, serve_forever

    try:
        limits = [int(size) for size in prerender.split(",") if size.strip()]
    except ValueError:
        fail(f"--prerender takes page sizes separated by commas, got {prerender!r}")
    data = make_vendor(assets=assets, users=users, token=token, prerender=limits, latency=latency_ms / 1000)
    try:
        sock = bind(port=port)
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    print(f"Demo vendor listening on {url}", flush=True)
    print(f"API token: {data.token}", flush=True)
    console.print(f"Assets: {url}/api/v1/assets  Users: {url}/api/v1/users  (Ctrl+C stops)")
    try:
        serve_forever(data, sock)
    except KeyboardInterrupt:
        pass


@app.command()
def run(
    integration: str = typer.Argument(..., help="customer/name of the integration"),
    trigger: Trigger = typer.Option(Trigger.manual.value, case_sensitive=False, help="Recorded in the action log."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Ignore the incremental sync state."),
) -> None:
    """Run an integration's sync now, exactly as its schedule would."""
    from models.engine import migrate, session
    from models.errors import HubError
    from models.integrations import connector_spec, find_integration, integration_ref

    migrate()
    try:
        with session() as db:
            found = find_integration(db, integration)
            connector_spec(db, found)  # a broken stored spec fails here, not inside the run
            ref = integration_ref(db, found)
    except HubError as exc:
        fail(str(exc))
    from ihub.report import log_detail, run_table  # the run's modules load once its integration is known
    from ihub.runs import run_sync

    log = run_sync(console, found.id, ref, trigger=trigger, full_refresh=full_refresh)
    if log is None:
        fail(f"the run of {ref} did not start; see the Prefect logs")
    if log.flow_run_id is None and log.status.value == "Failed":  # Prefect never accepted the run
        fail(log.message)
    if log.status.value != "Completed":  # the counts only if it read something; the reason once, last
        if log.pages:
            console.print(run_table(f"Sync of {ref}", log))
        fail(f"{log.message or f'the run ended {log.status.value}'} (action log #{log.id}: `ihub log {log.id}`)")
    console.print(run_table(f"Sync of {ref}", log))
    console.print(log_detail(log, ref))


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the hub's database schema (the other commands do this themselves)."""
    from models.engine import database_url, migrate

    migrate()
    console.print(f"Schema is up to date in {database_url().split('@')[-1]}")


@app.command()
def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the REST API (docs at /docs) and the operator console (at /)."""
    from ihub.api.app import serve
    from models.engine import migrate

    migrate()
    serve(host, port)
