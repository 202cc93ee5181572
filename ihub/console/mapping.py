"""The mapping editor (seed 002's "Mapping" pop-up): first the "Primary key" (a vendor field ticked and assigned
to a hub field), then the other fields, each with "Add"; the current rows with Remove.

Every change goes through models/mapping.py, as `ihub mapping` does, so both refuse with the same words.
The page is whole without JavaScript; from a source's gear menu, static/dialog.js shows it in a <dialog>.
"""

from __future__ import annotations

from typing import get_args
from urllib.parse import quote, urlencode

from fastapi import Form, Request

from ihub.api.deps import Db
from ihub.console.pages import console_path, console_router, redirect, render, said
from models.config import IntegrationEndpoint
from models.customers import get_customer
from models.errors import HubError
from models.integrations import find_integration
from models.mapping import hub_fields, mapping_rows, read_transforms, remove_field, set_field, vendor_fields
from models.spec import FieldType

router = console_router()

TYPES = get_args(FieldType)


def described(rule: dict) -> tuple[str, str]:
    """A mapping row as the editor lists it (as `ihub mapping show` does): where the value comes from, and the rest."""
    rest = {key: value for key, value in rule.items() if value not in (None, False, [], "")}
    origin = next((f"{key}: {rest.pop(key)}" for key in ("source", "template", "constant") if key in rest), "")
    return origin, ", ".join(f"{key}={value}" for key, value in rest.items())


def mapping_url(customer: str, name: str, return_to: str | None = None) -> str:
    url = f"/customers/{quote(customer, safe='')}/integrations/{quote(name, safe='')}/mapping"
    return f"{url}?{urlencode({'return_to': return_to})}" if return_to else url


def checked_return(return_to: str | None) -> str | None:
    """A path of this console to go back to, or None for anything else (another site, a scheme, a backslash)."""
    return return_to if return_to and console_path(return_to) else None


@router.get("/customers/{customer}/integrations/{name}/mapping")
def mapping_page(request: Request, db: Db, customer: str, name: str, return_to: str | None = None):
    return _editor(request, db, customer, name, checked_return(return_to))


@router.post("/customers/{customer}/integrations/{name}/mapping")
def add_field(request: Request, db: Db, customer: str, name: str, target: str = Form(""), source: str = Form(""),
              primary_key: bool = Form(False), transforms: str = Form(""), type_: str = Form("", alias="type"),
              default: str = Form(""), required: bool = Form(False), return_to: str = Form("")):
    """"Add": fill a hub field from a vendor field (replacing its rule if it had one)."""
    integration = find_integration(db, f"{customer}/{name}")
    back = checked_return(return_to)
    typed = dict(target=target, source=source, primary_key=primary_key, transforms=transforms, type=type_,
                 default=default, required=required)
    try:
        rule = {"source": source.strip(), "transforms": read_transforms(transforms)}
        rule.update({key: value for key, value in (("type", type_), ("default", default)) if value})
        if required:
            rule["required"] = True
        set_field(db, integration, target.strip(), rule, primary_key=primary_key)
    except HubError as exc:
        return _editor(request, db, customer, name, back, 422, problem=said(exc), typed=typed)
    key = " and is the primary key" if primary_key else ""
    return redirect(mapping_url(customer, name, back), f"{target.strip()} is filled from {source.strip()!r}{key}.",
                    request)


@router.post("/customers/{customer}/integrations/{name}/mapping/remove")
def remove(request: Request, db: Db, customer: str, name: str, target: str = Form(""), return_to: str = Form("")):
    integration = find_integration(db, f"{customer}/{name}")
    back = checked_return(return_to)
    try:
        message = remove_field(db, integration, target)
    except HubError as exc:
        return _editor(request, db, customer, name, back, 422, problem=said(exc))
    return redirect(mapping_url(customer, name, back), message, request)


def _editor(request: Request, db: Db, customer: str, name: str, return_to: str | None, status_code: int = 200,
            problem: str | None = None, typed: dict | None = None):
    found = get_customer(db, customer)
    integration = find_integration(db, f"{customer}/{name}")
    rows = mapping_rows(db, integration)
    has_key = any(row.is_sync_key for row in rows)
    endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
    back = return_to or f"/customers/{quote(customer, safe='')}/sources/{quote(endpoint.name, safe='')}"
    typed = typed or {"primary_key": not has_key}
    return render(request, "mapping.html", status_code, customer=found, tab="sources", integration=integration,
                  rows=[(row, *described(row.rule)) for row in rows], has_key=has_key, vendor_fields=vendor_fields(db, integration),
                  hub_fields=hub_fields(db, integration), types=TYPES, typed=typed, problem=problem,
                  return_to=return_to, back=back, action=mapping_url(customer, name))
