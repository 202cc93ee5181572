"""`ihub partners`: the partner catalog, partners added to a customer, connecting them (seed 001).

Secrets are best not typed as options (`ps` and the shell history show them): `connect` asks
for each one without echo, reads them from stdin with `--secret-stdin`, or takes them from an
environment variable.
"""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from ihub.commands.common import console, done, fail, hub, when
from ihub.commands.secrets import read_secrets
from models.endpoints import add_partners, disconnect, list_endpoints
from models.errors import HubError

app = typer.Typer(help="Partner applications: the catalog, and connecting a customer's partners.",
                  no_args_is_help=True)

_SECRET_FIELDS = {"api_key", "password", "secret_access_key", "session_token"}
_OPTIONAL_FIELDS = {"session_token"}
_VISIBLE = "Visible in ps and shell history: prefer the hidden prompt, --secret-stdin or"


@app.command()
def catalog() -> None:
    """The partner applications available for integration."""
    from models.partners import catalog as partner_catalog

    table = Table(title="Partner applications", title_justify="left")
    for column in ("partner", "name", "author", "auth", "regions", "data types"):
        table.add_column(column, overflow="fold")
    for partner in partner_catalog().values():
        table.add_row(partner.slug, partner.name, partner.author, partner.auth_type, _regions(list(partner.regions)),
                      ", ".join(partner.data_types))
    console.print(table)


def _regions(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} and {len(names) - 2} more"


@app.command()
def show(partner: str) -> None:
    """One partner application: support contact, regions, credentials it needs, data types."""
    from models.partners import CREDENTIAL_FIELDS, get_partner

    try:
        found = get_partner(partner)
    except HubError as exc:
        fail(str(exc))
    console.print(f"[bold]{found.name}[/] ({found.slug}) by {found.author}; support: {found.support_contact}")
    console.print(found.description, highlight=False)
    if found.docs_url:
        console.print(f"Documentation: {found.docs_url}")
    console.print(f"Credentials ({found.auth_type}): {', '.join(CREDENTIAL_FIELDS[found.auth_type])}")
    regions = Table(title="Regions", title_justify="left")
    regions.add_column("region")
    regions.add_column("base URL")
    for region, url in found.regions.items():
        regions.add_row(region, url)
    console.print(regions)
    types = Table(title="Data types", title_justify="left")
    for column in ("data type", "label", "description"):
        types.add_column(column, overflow="fold")
    for name, data_type in found.data_types.items():
        types.add_row(name, data_type.label, data_type.description)
    console.print(types)


@app.command()
def add(customer: str, partners: List[str] = typer.Argument(..., help="Partner names from `ihub partners catalog`.")) -> None:
    """Add partner applications to a customer (status Available until connected)."""
    with hub() as db:
        added = add_partners(db, customer, partners)
    names = ", ".join(endpoint.name for endpoint in added)
    done(f"Added {names} to {customer} (status Available). Connect each with "
         f"`ihub partners connect {customer} PARTNER --region REGION`.")


@app.command("list")
def list_(customer: str) -> None:
    """The customer's partner applications: status and whether they are currently connected."""
    with hub() as db:
        partners = [e for e in list_endpoints(db, customer) if e.partner]
    if not partners:
        console.print(f"{customer} has no partner applications yet: `ihub partners add {customer} PARTNER`.")
        return
    table = Table(title=f"Partner applications of {customer}", title_justify="left")
    for column in ("partner", "status", "currently connected", "region", "since", "message"):
        table.add_column(column, overflow="fold")
    for endpoint in partners:
        table.add_row(endpoint.partner, endpoint.status.value, "[green]✓[/]" if endpoint.connected else "",
                      endpoint.region or "", when(endpoint.connected_at) if endpoint.connected else "",
                      endpoint.status_message)
    console.print(table)


@app.command()
def connect(
    customer: str,
    partner: str,
    region: str = typer.Option(..., help="One of the partner's regions (`ihub partners show PARTNER`)."),
    tenant: Optional[str] = typer.Option(None, help="Your tenant, for regions whose URL has {tenant}."),
    api_key: Optional[str] = typer.Option(None, envvar="IHUB_PARTNER_API_KEY", show_envvar=False,
                                          help=f"{_VISIBLE} IHUB_PARTNER_API_KEY."),
    username: Optional[str] = typer.Option(None),
    password: Optional[str] = typer.Option(None, envvar="IHUB_PARTNER_PASSWORD", show_envvar=False,
                                           help=f"{_VISIBLE} IHUB_PARTNER_PASSWORD."),
    access_key_id: Optional[str] = typer.Option(None),
    secret_access_key: Optional[str] = typer.Option(None, envvar="IHUB_PARTNER_SECRET_ACCESS_KEY", show_envvar=False,
                                                    help=f"{_VISIBLE} IHUB_PARTNER_SECRET_ACCESS_KEY."),
    session_token: Optional[str] = typer.Option(None, envvar="IHUB_PARTNER_SESSION_TOKEN", show_envvar=False,
                                                help=f"{_VISIBLE} IHUB_PARTNER_SESSION_TOKEN."),
    secret_stdin: bool = typer.Option(False, "--secret-stdin",
                                      help="Read the secrets not given from stdin, one a line, in this order: "
                                           "the API key; the password; the secret access key, then the session "
                                           "token (a line that may be left out)."),
) -> None:
    """Connect a partner with its credentials and region; the connection is tested at once.

    A secret that is not given is asked for without echo, or read from stdin with --secret-stdin. New credentials replace the ones in use only if the partner accepts them.
    """
    from ihub.operations import connect_partner
    from models.endpoints import partner_endpoint
    from models.partners import CREDENTIAL_FIELDS, get_partner

    given = {"api_key": api_key, "username": username, "password": password, "access_key_id": access_key_id,
             "secret_access_key": secret_access_key, "session_token": session_token}
    with hub() as db:
        auth_type = get_partner(partner_endpoint(db, customer, partner).partner).auth_type
    needed = CREDENTIAL_FIELDS[auth_type]
    asked = [field for field in needed if field not in _SECRET_FIELDS and given[field] is None]
    if secret_stdin and asked:
        fail(f"--secret-stdin reads only the secrets: give {', '.join('--' + f.replace('_', '-') for f in asked)} "
             "on the command line")
    for field in asked:
        given[field] = typer.prompt(field.replace("_", " ").capitalize())
    secrets = read_secrets([field for field in needed if field in _SECRET_FIELDS], given, _OPTIONAL_FIELDS,
                           from_stdin=secret_stdin)
    try:
        with console.status(f"Connecting {partner} for {customer}"):
            outcome = connect_partner(customer, partner, region, secrets, tenant=tenant)
    except HubError as exc:
        fail(str(exc))
    endpoint = outcome.endpoint
    if outcome.kept:
        fail(f"{partner} of {customer}: {endpoint.status_message}. It stays connected (status "
             f"{endpoint.status.value}, region {endpoint.region}).")
    if not endpoint.connected:
        fail(f"{partner} of {customer} could not connect (status {endpoint.status.value}): {endpoint.status_message}")
    done(f"{partner} of {customer} is connected (status {endpoint.status.value}, region {endpoint.region}): "
         f"{endpoint.status_message}")


@app.command("disconnect")
def disconnect_(customer: str, partner: str) -> None:
    """Stop data flowing to and from a partner."""
    with hub() as db:
        disconnect(db, customer, partner)
    done(f"{partner} of {customer} is disconnected (status Available); its integrations will not run until "
         "it is connected again.")
