"""Customer Onboard (seed 000): the grid of customers with their Customer Actions, and a customer's
Integration Configuration page; create, rename and delete."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from ihub.api.deps import Db
from ihub.api.errors import status_for
from ihub.console.integrations import customer_integrations
from ihub.console.pages import HOME, console_router, form_errors, redirect, render, said
from models import customers as service
from models.endpoints import list_endpoints
from models.errors import HubError

router = console_router()


@router.get("/")
def home():
    return RedirectResponse(HOME, status_code=303)


@router.get("/customers")
def customers_page(request: Request, db: Db):
    return render(request, "customers.html", customers=service.list_customers(db))


@router.get("/new-customer")
def new_customer_page(request: Request):
    return render(request, "customer_form.html", customer=None, name="", errors={}, problem=None)


@router.post("/new-customer")
def create_customer(request: Request, db: Db, name: str = Form("")):
    try:
        created = service.create_customer(db, name)
    except HubError as exc:
        errors, problem = form_errors(exc)
        return render(request, "customer_form.html", 422, customer=None, name=name, errors=errors, problem=problem)
    return redirect(HOME, f"Customer '{created.name}' onboarded.", request)


@router.get("/customers/{customer}")
def configuration_page(request: Request, db: Db, customer: str):
    """Integration Configuration: the customer's endpoints, partners and integrations, one tab each."""
    found = service.get_customer(db, customer)
    endpoints = list_endpoints(db, customer)
    return render(request, "configuration.html", customer=found, tab="configuration",
                  endpoints=endpoints, partners=[e for e in endpoints if e.partner],
                  integrations=customer_integrations(db, customer))


@router.get("/customers/{customer}/rename")
def rename_page(request: Request, db: Db, customer: str):
    found = service.get_customer(db, customer)
    return render(request, "customer_form.html", customer=found, name=found.name, errors={}, problem=None)


@router.post("/customers/{customer}/rename")
def rename_customer(request: Request, db: Db, customer: str, name: str = Form("")):
    found = service.get_customer(db, customer)
    try:
        service.rename_customer(db, customer, name)
    except HubError as exc:
        errors, problem = form_errors(exc)
        return render(request, "customer_form.html", 422, customer=found, name=name, errors=errors, problem=problem)
    return redirect(HOME, f"Customer '{customer}' renamed to '{found.name}'.", request)


@router.get("/customers/{customer}/delete")
def delete_page(request: Request, db: Db, customer: str):
    return _delete_form(request, db, customer)


@router.post("/customers/{customer}/delete")
def delete_customer(request: Request, db: Db, customer: str, force: bool = Form(False)):
    from ihub.operations import remove_blocks  # Prefect loads only when there are blocks to remove

    try:
        removed = service.delete_customer(db, customer, force=force)
    except HubError as exc:
        return _delete_form(request, db, customer, status_for(exc), problem=said(exc))
    remove_blocks(removed.credential_blocks)
    lines = [f"Customer '{customer}' deleted."]
    if removed.integrations:
        lines.append(f"Removed its integrations (with their mappings, logs and records): "
                    f"{', '.join(removed.integrations)}.")
    if removed.endpoints:
        lines.append(f"Removed its endpoints: {', '.join(removed.endpoints)}.")
    return redirect(HOME, " ".join(lines), request)


def _delete_form(request: Request, db: Db, customer: str, status_code: int = 200, problem: str | None = None):
    found = service.get_customer(db, customer)
    return render(request, "customer_delete.html", status_code, customer=found, problem=problem,
                  endpoints=list_endpoints(db, customer), integrations=customer_integrations(db, customer))
