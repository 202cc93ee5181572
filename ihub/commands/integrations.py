"""`ihub integrations`: create, configure and activate integrations (seeds 002, 004), and the
integration manager's header (seed 003).

The rules (`models.integration_setup`) and the spec's models load in the commands that use them:
`list` and `show` do without.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table
from sqlmodel import Session, select

from ihub.commands.common import confirm, console, done, fail, hub, when
from models.actions import LogFilter, list_actions, list_logs
from models.config import Customer, Integration, IntegrationEndpoint
from models.customers import get_customer
from models.integrations import find_integration, integration_ref

app = typer.Typer(help="Integrations: what is synced, from where, when, and who hears about failures.",
                  no_args_is_help=True)
REF = typer.Argument(..., help="customer/name of the integration")


def integrations_table(db: Session, integrations: list[Integration]) -> Table:
    table = Table(title="Integrations", title_justify="left")
    for column in ("integration", "source", "endpoint", "status", "schedule", "last log update"):
        table.add_column(column, overflow="fold")
    for integration in integrations:
        endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
        source = integration.source.value + (f" ({integration.data_type})" if integration.data_type else "")
        table.add_row(integration_ref(db, integration), source, endpoint.name, integration.status.value,
                      _cron(integration), when(integration.last_log_update_at))
    return table


def _cron(integration: Integration) -> str:
    from models.schedules import describe, schedule_of

    schedule = schedule_of(integration)
    return describe(schedule) if schedule else "its own"


@app.command()
def create(
    customer: str,
    name: str,
    endpoint: str = typer.Option(..., "--endpoint", "-e", help="The customer's integration endpoint it uses."),
    data_type: Optional[str] = typer.Option(None, help="A data type of the endpoint's partner application."),
    spec: Optional[Path] = typer.Option(None, help="A universal-connector spec (YAML)."),
    external: bool = typer.Option(False, "--external", help="Built outside the hub; it reports through the API."),
    author: Optional[str] = typer.Option(None),
    support_contact: Optional[str] = typer.Option(None),
) -> None:
    """Create an integration from a partner data type, a connector spec or as external; it starts Inactive."""
    from models.integration_setup import create_integration
    from models.spec import ConnectorSpec, SpecError

    connector = None
    if spec is not None:
        try:
            connector = ConnectorSpec.from_yaml(spec)
        except SpecError as exc:
            fail(f"the spec cannot be used:\n{exc}")
    with hub() as db:
        integration = create_integration(db, customer, name, endpoint, data_type=data_type, spec=connector,
                                         external=external, author=author, support_contact=support_contact)
        ref = integration_ref(db, integration)
    done(f"Integration '{ref}' created (Inactive).")
    if not external:
        console.print(f"Next: check its mapping with `ihub mapping show {ref}` (it needs a primary key), "
                      f"then `ihub integrations activate {ref}`.")


@app.command()
def edit(
    integration: str = REF,
    spec: Path = typer.Option(..., help="The new universal-connector spec (YAML), validated whole first."),
    force: bool = typer.Option(False, "--force", help="Allow a new sync key or target object: the stored records "
                                                      "and the sync state are deleted."),
) -> None:
    """Replace an integration's spec; its records, logs, sync state, schedule and API key are kept.

    A new sync key or target object is refused unless --force, which deletes the stored records.
    """
    from models.spec import ConnectorSpec, SpecError
    from models.spec_edit import edit_spec

    try:
        connector = ConnectorSpec.from_yaml(spec)
    except SpecError as exc:
        fail(f"the spec cannot be used (nothing was changed):\n{exc}")
    with hub() as db:
        edited = edit_spec(db, find_integration(db, integration), connector, force=force)
    done(edited.summary() + ".")


@app.command("list")
def list_(customer: Optional[str] = typer.Argument(None, help="Only this customer's.")) -> None:
    """Integrations, with their source, endpoint, status and schedule."""
    with hub() as db:
        query = select(Integration).join(Customer).order_by(Customer.name, Integration.name)
        if customer:
            query = query.where(Integration.customer_id == get_customer(db, customer).id)
        integrations = list(db.exec(query))
        if not integrations:
            console.print("No integrations yet: `ihub integrations create CUSTOMER NAME --endpoint ENDPOINT ...`.")
            return
        console.print(integrations_table(db, integrations))


@app.command()
def show(integration: str = REF) -> None:
    """The integration manager: header, actions and the newest action logs."""
    from ihub.report import logs_table

    with hub() as db:
        found = find_integration(db, integration)
        ref = integration_ref(db, found)
        endpoint = db.get(IntegrationEndpoint, found.endpoint_id)
        header = Table(title=f"Integration {ref}", title_justify="left", show_header=False)
        header.add_column(style="bold")
        header.add_column(overflow="fold")
        connection = ""
        if endpoint.partner:
            connection = f" (partner {endpoint.partner}: {'connected' if endpoint.connected else 'not connected'})"
        for label, value in (
            ("status", found.status.value),
            ("last log update", when(found.last_log_update_at)),
            ("last heartbeat", when(found.last_heartbeat_at)),
            ("author", found.author or "unknown"),
            ("support contact", found.support_contact or "none given"),
            ("source", found.source.value + (f", data type {found.data_type}" if found.data_type else "")),
            ("endpoint", endpoint.name + connection),
            ("schedule", _cron(found)),
            ("update types", ", ".join(found.update_types) + f" (deleted records: {found.deleted_mode.value})"),
            ("alert e-mails", ", ".join(found.alert_emails) or "none"),
            ("error threshold", f"disabled after {found.error_threshold} consecutive failed runs "
                                f"(now {found.consecutive_failures})"),
            ("disabled because", found.disabled_reason or "—"),
            ("flow retries", f"{found.flow_retries}, {found.flow_retry_delay_seconds} s apart"),
            ("API key", f"issued {when(found.api_key_created_at)}" if found.api_key_hash else "none"),
        ):
            header.add_row(label, value)
        console.print(header)
        actions = Table(title="Actions", title_justify="left")
        for column in ("action", "kind", "performed by"):
            actions.add_column(column)
        for action in list_actions(db, found):
            actions.add_row(action.name, action.kind.value, f"flow {action.flow}" if action.flow else "the integration")
        console.print(actions)
        rows = list_logs(db, LogFilter(integration=found, limit=5))
    if rows:
        console.print(logs_table(rows, title="Newest action logs"))


def _configure(integration: str, change) -> str:
    with hub() as db:
        found = find_integration(db, integration)
        change(db, found)
        return integration_ref(db, found)


@app.command()
def activate(integration: str = REF) -> None:
    """Activate: refused until the mapping has a primary (sync) key."""
    from models.integration_setup import activate as activate_integration

    ref = _configure(integration, activate_integration)
    done(f"{ref} is Active.")


@app.command()
def deactivate(integration: str = REF) -> None:
    """Deactivate: its schedule stops running it."""
    from models.integration_setup import deactivate as deactivate_integration

    ref = _configure(integration, deactivate_integration)
    done(f"{ref} is Inactive.")


@app.command()
def delete(integration: str = REF, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Delete an integration with its mapping, logs and synced records."""
    from models.integration_setup import delete_integration

    with hub() as db:
        found = find_integration(db, integration)
        ref = integration_ref(db, found)
        confirm(f"Delete {ref} with its mapping, action logs and synced records?", yes)
        delete_integration(db, found)
    done(f"{ref} deleted.")


@app.command("update-types")
def update_types(
    integration: str = REF,
    types: Optional[List[str]] = typer.Option(None, "--type", "-t", help="created, updated, deleted; repeat."),
    deleted_mode: Optional[str] = typer.Option(None, help="mark or remove records the vendor no longer returns."),
) -> None:
    """Show or choose which vendor changes a sync applies."""
    from models.integration_setup import set_update_types

    with hub() as db:
        found = find_integration(db, integration)
        if types or deleted_mode:
            set_update_types(db, found, types or list(found.update_types), deleted_mode)
        ref = integration_ref(db, found)
    done(f"{ref} applies: {', '.join(found.update_types)}; records the vendor no longer returns on a full sync "
         f"are {'marked deleted' if found.deleted_mode.value == 'mark' else 'removed'}"
         f"{'' if 'deleted' in found.update_types else ' (when deleted is chosen)'}.")


@app.command()
def alerts(
    integration: str = REF,
    add: Optional[List[str]] = typer.Option(None, "--add", help="An e-mail address; repeat."),
    remove: Optional[List[str]] = typer.Option(None, "--remove"),
    threshold: Optional[int] = typer.Option(None, help="Consecutive failed runs that disable it (default 5)."),
) -> None:
    """Show or change the alert e-mails and the error threshold."""
    from models.integration_setup import set_alerts

    with hub() as db:
        found = find_integration(db, integration)
        set_alerts(db, found, add or [], remove or [], threshold)
        ref = integration_ref(db, found)
    done(f"{ref}: after {found.error_threshold} consecutive failed runs it is Disabled and "
         f"{', '.join(found.alert_emails) or 'nobody (add an address with --add)'} is e-mailed.")


@app.command()
def schedule(
    integration: str = REF,
    cron: Optional[str] = typer.Option(None, help="Five fields, e.g. '0 2 * * *' (the default: daily at 02:00)."),
    timezone: Optional[str] = typer.Option(None, help="An IANA time zone, e.g. Europe/Paris."),
) -> None:
    """Show or change when the integration runs."""
    from models.integration_setup import set_schedule

    with hub() as db:
        found = find_integration(db, integration)
        current = set_schedule(db, found, cron, timezone)
        ref = integration_ref(db, found)
    done(f"{ref} runs on '{current['cron']}' ({current['timezone']}).")


@app.command()
def retries(
    integration: str = REF,
    retries: Optional[int] = typer.Option(None, "--retries", help="Automatic re-runs of a failed run (0 to 10)."),
    delay: Optional[int] = typer.Option(None, "--delay", help="Seconds before each re-run."),
) -> None:
    """How often Prefect re-runs a failed run by itself (the same flow run, one action log)."""
    from models.integration_setup import set_retries

    with hub() as db:
        found = find_integration(db, integration)
        set_retries(db, found, retries, delay)
        ref = integration_ref(db, found)
    done(f"{ref}: a failed run is re-run {found.flow_retries} time(s), {found.flow_retry_delay_seconds} s apart.")


@app.command("api-key")
def api_key(integration: str = REF, rotate: bool = typer.Option(False, "--rotate", help="Replace the key.")) -> None:
    """Issue the integration's API key (shown once; stored hashed), or rotate it."""
    from models.api_keys import issue_key

    with hub() as db:
        found = find_integration(db, integration)
        key = issue_key(db, found, rotate=rotate)
        ref = integration_ref(db, found)
    done(f"{'New' if rotate else 'The'} API key of {ref}{' (the old one no longer works)' if rotate else ''}:")
    console.print(key, highlight=False, soft_wrap=True)
    console.print("It is shown only this once; the hub keeps only its hash.")
