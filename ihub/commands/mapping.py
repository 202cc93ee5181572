"""`ihub mapping`: map vendor fields onto the hub's object and pick the primary (sync) key (seed 002)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from ihub.commands.common import console, done, fail, hub
from models.integrations import find_integration, integration_ref
from models.mapping import mapping_rows, remove_field, set_field, set_sync_key

app = typer.Typer(help="Field mapping: which vendor field fills which hub field, and the primary key.",
                  no_args_is_help=True)
REF = typer.Argument(..., help="customer/name of the integration")


@app.command()
def show(integration: str = REF) -> None:
    """The mapping, field by field."""
    with hub() as db:
        found = find_integration(db, integration)
        rows = mapping_rows(db, found)
        ref = integration_ref(db, found)
    table = Table(title=f"Mapping of {ref}", title_justify="left")
    for column in ("hub field", "from", "rule", "primary key"):
        table.add_column(column, overflow="fold")
    for row in rows:
        rule = {k: v for k, v in row.rule.items() if v not in (None, False, [], "")}
        origin = next((f"{k}: {rule.pop(k)}" for k in ("source", "template", "constant") if k in rule), "")
        extras = ", ".join(f"{k}={v}" for k, v in rule.items())
        table.add_row(row.target_field, origin, extras, "[green]✓[/]" if row.is_sync_key else "")
    console.print(table)
    if not any(row.is_sync_key for row in rows):
        console.print(f"[yellow]No primary key yet:[/] mark one with `ihub mapping key {ref} FIELD` "
                      "before activating.")


@app.command("set")
def set_(
    integration: str = REF,
    field: str = typer.Argument(..., help="The hub field to fill."),
    source: Optional[str] = typer.Argument(None, help="The vendor field's path, e.g. model.name."),
    template: Optional[str] = typer.Option(None, help="Build the value, e.g. '{first} {last}'."),
    constant: Optional[str] = typer.Option(None, help="A fixed value."),
    type_: Optional[str] = typer.Option(None, "--type", help="str, int, float, decimal, bool, datetime, date."),
    format_: Optional[str] = typer.Option(None, "--format", help="strptime format for datetime or date."),
    default: Optional[str] = typer.Option(None, help="Used when the vendor's value is missing."),
    required: bool = typer.Option(False, "--required", help="Reject records without a value."),
    primary_key: bool = typer.Option(False, "--primary-key", help="Make this field the sync key."),
) -> None:
    """Map one hub field (replacing its rule if it had one)."""
    origins = {k: v for k, v in (("source", source), ("template", template), ("constant", constant)) if v is not None}
    if len(origins) != 1:
        fail("give exactly one of: a source path, --template or --constant")
    rule = {**origins, **{k: v for k, v in (("type", type_), ("format", format_), ("default", default)) if v}}
    if required:
        rule["required"] = True
    with hub() as db:
        found = find_integration(db, integration)
        set_field(db, found, field, rule, primary_key=primary_key)
        ref = integration_ref(db, found)
    done(f"{ref}: {field} is filled from {next(iter(origins.values()))!r}"
         f"{' and is the primary key' if primary_key else ''}.")


@app.command()
def key(integration: str = REF, field: str = typer.Argument(..., help="A mapped hub field.")) -> None:
    """Make a mapped field the primary (sync) key."""
    with hub() as db:
        found = find_integration(db, integration)
        set_sync_key(db, found, field)
        ref = integration_ref(db, found)
    done(f"{field} is the primary key of {ref}.")


@app.command()
def remove(integration: str = REF, field: str = typer.Argument(...)) -> None:
    """Stop filling a hub field."""
    with hub() as db:
        found = find_integration(db, integration)
        said = remove_field(db, found, field)
    done(said)
