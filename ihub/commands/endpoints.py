"""`ihub endpoints`: a customer's integration endpoints as a table; add, edit, delete (seed 000)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table
from sqlmodel import Session, select

from ihub.commands.common import confirm, console, done, hub
from models.config import Integration, IntegrationEndpoint
from models.endpoints import add_endpoint, delete_endpoint, edit_endpoint, get_endpoint, list_endpoints

app = typer.Typer(help="Integration endpoints: a customer's connection points to third-party systems.",
                  no_args_is_help=True)


def endpoints_table(db: Session, customer: str, endpoints: list[IntegrationEndpoint]) -> Table:
    table = Table(title=f"Integration endpoints of {customer}", title_justify="left")
    for column in ("name", "description", "partner", "status", "connected", "integrations"):
        table.add_column(column, overflow="fold")
    for endpoint in endpoints:
        users = db.exec(select(Integration.name).where(Integration.endpoint_id == endpoint.id)).all()
        table.add_row(endpoint.name, endpoint.description, endpoint.partner or "",
                      endpoint.status.value if endpoint.status else "",
                      ("yes" if endpoint.connected else "no") if endpoint.partner else "",
                      ", ".join(users))
    return table


@app.command("list")
def list_(customer: str) -> None:
    """The customer's endpoints."""
    with hub() as db:
        endpoints = list_endpoints(db, customer)
        if not endpoints:
            console.print(f"{customer} has no integration endpoints yet: "
                          f"`ihub endpoints add {customer} NAME --description TEXT`.")
            return
        console.print(endpoints_table(db, customer, endpoints))


@app.command()
def add(
    customer: str,
    name: str,
    description: Optional[str] = typer.Option(None, "--description", "-d", help="Mandatory."),
) -> None:
    """Add an endpoint: name and description are both mandatory; the name is unique per customer."""
    with hub() as db:
        add_endpoint(db, customer, name, description)
        console.print(endpoints_table(db, customer, list_endpoints(db, customer)))
    done(f"Integration endpoint '{name}' added to {customer}.")


@app.command()
def edit(
    customer: str,
    name: str,
    description: Optional[str] = typer.Option(None, "--description", "-d"),
    new_name: Optional[str] = typer.Option(None, "--name", help="Refused: an endpoint's name never changes."),
) -> None:
    """Change an endpoint's description (its name is not editable)."""
    with hub() as db:
        edit_endpoint(db, customer, name, description=description, new_name=new_name)
    done(f"Integration endpoint '{name}' of {customer} updated.")


@app.command()
def delete(customer: str, name: str,
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete an endpoint; refused while integrations use it."""
    with hub() as db:
        get_endpoint(db, customer, name)
        confirm(f"Delete integration endpoint '{name}' of {customer}?", yes)
        delete_endpoint(db, customer, name)
    done(f"Integration endpoint '{name}' deleted from {customer}.")
