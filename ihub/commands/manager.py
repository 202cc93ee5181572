"""The integration manager (seed 003) on the command line: actions, action requests, action logs."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from ihub.commands.common import console, done, fail, hub, parse_moment
from models.actions import LogFilter, add_action, get_log, list_actions, list_logs, request_action
from models.customers import get_customer
from models.integrations import find_integration, integration_ref
from models.logs import ActionStatus

actions_app = typer.Typer(help="Integration actions: what an integration can do, e.g. Import Assets.",
                          no_args_is_help=True)
REF = typer.Argument(..., help="customer/name of the integration")


@actions_app.command("list")
def list_actions_command(integration: str = REF) -> None:
    """The integration's actions and the flow that performs each."""
    with hub() as db:
        found = find_integration(db, integration)
        actions = list_actions(db, found)
        ref = integration_ref(db, found)
    table = Table(title=f"Actions of {ref}", title_justify="left")
    for column in ("action", "kind", "performed by", "description"):
        table.add_column(column, overflow="fold")
    for action in actions:
        table.add_row(action.name, action.kind.value, f"flow {action.flow}" if action.flow else "the integration",
                      action.description)
    console.print(table)


@actions_app.command("add")
def add_action_command(
    integration: str = REF,
    name: str = typer.Argument(..., help="e.g. 'Export Quote'"),
    kind: str = typer.Option("other", help="import, export or other"),
    description: str = typer.Option(""),
) -> None:
    """Declare an action of an integration built outside the hub."""
    with hub() as db:
        found = find_integration(db, integration)
        action = add_action(db, found, name, kind, description)
        ref = integration_ref(db, found)
    done(f"{ref} can now be asked to '{action.name}'.")


def request(
    integration: str = REF,
    action: str = typer.Argument(..., help="The action's name, e.g. 'Export Asset'."),
    record: Optional[str] = typer.Option(None, "--record", "-r", help="The hub record, e.g. its sync key 42."),
) -> None:
    """Ask an integration to perform an action: a Queued log at once, then the run."""
    from ihub.operations import start_request
    from ihub.report import log_detail

    with hub() as db:
        found = find_integration(db, integration)
        requested = request_action(db, found, action, record, via="cli")
        ref = integration_ref(db, found)
    done(f"Request #{requested.request.id} queued: {requested.action.name}"
         f"{f' of {record}' if record else ''} (action log #{requested.log.id}).")
    if requested.action.flow is None:
        console.print(f"{ref} runs outside the hub: it picks the request up through the API "
                      "(GET /api/v1/integration/requests) and reports in the action log.")
        return
    with console.status(f"{requested.action.name}: running"):
        start_request(requested.request.id)
    with hub() as db:
        log = get_log(db, requested.log.id)
    if log.status != ActionStatus.completed:  # the reason once, last
        fail(f"{log.message or f'the run ended {log.status.value}'} (action log #{log.id}: `ihub log {log.id}`)")
    console.print(log_detail(log, ref))


def logs(
    integration: Optional[str] = typer.Argument(None, help="customer/name; every integration if left out"),
    customer: Optional[str] = typer.Option(None, help="Only this customer's integrations."),
    status: Optional[ActionStatus] = typer.Option(None, case_sensitive=False, help="e.g. Failed"),
    action: Optional[str] = typer.Option(None, help="Part of the action's name, e.g. export."),
    since: Optional[str] = typer.Option(None, help="Updated since: 2026-11-20, 2026-11-20T08:00, or 6h, 2d."),
    until: Optional[str] = typer.Option(None, help="Updated until (same forms)."),
    limit: int = typer.Option(20, min=1, max=1000, help="How many of the newest rows to show."),
) -> None:
    """The newest action logs, filtered by integration, customer, status, action or time."""
    from ihub.report import logs_table

    where = LogFilter(status=status, action=action, since=parse_moment(since, "--since"),
                      until=parse_moment(until, "--until"), limit=limit)
    with hub() as db:
        if integration:
            where.integration = find_integration(db, integration)
        if customer:
            where.customer = get_customer(db, customer)
        rows = list_logs(db, where)
    if not rows:
        filtered = any((integration, customer, status, action, since, until))
        console.print("No action logs match." if filtered else
                      "No action logs yet: run an integration with `ihub run customer/name`.")
        return
    console.print(logs_table(rows))


def log(log_id: int = typer.Argument(..., help="The action log's number.")) -> None:
    """One action log in full: trigger, message, counts, flow-run id."""
    from ihub.report import log_detail, run_table
    from models.config import Integration

    with hub() as db:
        found = get_log(db, log_id)
        ref = integration_ref(db, db.get(Integration, found.integration_id))
    console.print(log_detail(found, ref))
    if found.action.startswith("Import"):
        console.print(run_table("Counts", found))
