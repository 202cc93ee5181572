"""`ihub customers`: onboard, list, rename and delete customers (seed 000)."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlmodel import func, select

from ihub.commands.common import confirm, console, done, hub, when
from models.config import Integration, IntegrationEndpoint
from models.customers import create_customer, delete_customer, get_customer, list_customers, rename_customer

app = typer.Typer(help="Customers: the companies whose third-party systems the hub connects.", no_args_is_help=True)


@app.command()
def create(name: str = typer.Argument(..., help="Letters, digits, '.', '_' or '-'.")) -> None:
    """Onboard a customer."""
    with hub() as db:
        create_customer(db, name)
    done(f"Customer '{name}' created. Next: add its endpoints with `ihub endpoints add {name} NAME "
         "--description TEXT` or partners with `ihub partners add`.")


@app.command("list")
def list_() -> None:
    """Every customer, with how many endpoints and integrations it has."""
    with hub() as db:
        customers = list_customers(db)
        counts = {c.id: (_count(db, IntegrationEndpoint, c.id), _count(db, Integration, c.id)) for c in customers}
    if not customers:
        console.print("No customers yet: `ihub customers create NAME`.")
        return
    table = Table(title="Customers", title_justify="left")
    for column in ("name", "endpoints", "integrations", "created"):
        table.add_column(column)
    for customer in customers:
        endpoints, integrations = counts[customer.id]
        table.add_row(customer.name, str(endpoints), str(integrations), when(customer.created_at))
    console.print(table)


def _count(db, table, customer_id: int) -> int:
    return db.exec(select(func.count()).select_from(table).where(table.customer_id == customer_id)).one()


@app.command()
def show(name: str) -> None:
    """A customer with its endpoints and integrations."""
    from ihub.commands.endpoints import endpoints_table
    from ihub.commands.integrations import integrations_table
    from models.endpoints import list_endpoints

    with hub() as db:
        customer = get_customer(db, name)
        endpoints = list_endpoints(db, name)
        integrations = list(db.exec(select(Integration).where(Integration.customer_id == customer.id)
                                    .order_by(Integration.name)))
        console.print(f"[bold]{customer.name}[/], onboarded {when(customer.created_at)}")
        console.print(endpoints_table(db, name, endpoints))
        console.print(integrations_table(db, integrations))


@app.command()
def rename(name: str, new_name: str) -> None:
    """Rename a customer; its endpoints, integrations and logs stay as they are."""
    with hub() as db:
        rename_customer(db, name, new_name)
    done(f"Customer '{name}' renamed to '{new_name}'.")


@app.command()
def delete(
    name: str,
    force: bool = typer.Option(False, "--force", help="Also remove its integrations, endpoints and records."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a customer; refused while it has integrations unless --force."""
    from ihub.operations import remove_blocks

    with hub() as db:
        get_customer(db, name)
        confirm(f"Delete customer '{name}'{' and everything it has' if force else ''}?", yes)
        removed = delete_customer(db, name, force=force)
    remove_blocks(removed.credential_blocks)
    done(f"Customer '{name}' deleted.")
    if removed.integrations:
        console.print(f"Removed its integrations (with their mappings, logs and records): "
                      f"{', '.join(removed.integrations)}", highlight=False)
    if removed.endpoints:
        console.print(f"Removed its endpoints: {', '.join(removed.endpoints)}", highlight=False)
    if removed.credential_blocks:
        console.print(f"Removed its credentials blocks: {', '.join(removed.credential_blocks)}", highlight=False)
