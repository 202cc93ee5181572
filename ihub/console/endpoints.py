"""Integration Configuration -> Integration Endpoint (seed 000): a customer's endpoints in a grid;
"+ New Integration Endpoint" (Name and Description, both mandatory), Edit (the name locked), and
Delete after a confirmation, refused while integrations use the endpoint."""

from __future__ import annotations

from fastapi import Form, Request
from sqlmodel import Session, select

from ihub.api.deps import Db
from ihub.api.errors import status_for
from ihub.console.pages import console_router, form_errors, redirect, render, said
from models import endpoints as service
from models.config import Integration
from models.customers import get_customer
from models.errors import HubError

router = console_router()


def endpoints_url(customer: str) -> str:
    return f"/customers/{customer}/endpoints"


@router.get("/customers/{customer}/endpoints")
def endpoints_page(request: Request, db: Db, customer: str):
    found = get_customer(db, customer)
    endpoints = service.list_endpoints(db, customer)
    return render(request, "endpoints.html", customer=found, tab="endpoints", endpoints=endpoints,
                  users=_users(db, [e.id for e in endpoints]))


@router.get("/customers/{customer}/endpoints/new")
def new_endpoint_page(request: Request, db: Db, customer: str):
    return _form(request, get_customer(db, customer), None, "", "")


@router.post("/customers/{customer}/endpoints/new")
def add_endpoint(request: Request, db: Db, customer: str, name: str = Form(""), description: str = Form("")):
    found = get_customer(db, customer)
    try:
        added = service.add_endpoint(db, customer, name, description)
    except HubError as exc:
        return _form(request, found, None, name, description, exc)
    return redirect(endpoints_url(customer), f"Integration endpoint '{added.name}' added to {customer}.", request)


@router.get("/customers/{customer}/endpoints/{endpoint}/edit")
def edit_endpoint_page(request: Request, db: Db, customer: str, endpoint: str):
    found = service.get_endpoint(db, customer, endpoint)
    return _form(request, get_customer(db, customer), found, found.name, found.description)


@router.post("/customers/{customer}/endpoints/{endpoint}/edit")
def update_endpoint(request: Request, db: Db, customer: str, endpoint: str,
                    name: str | None = Form(None), description: str = Form("")):
    found = service.get_endpoint(db, customer, endpoint)
    try:
        service.edit_endpoint(db, customer, endpoint, description, new_name=name)
    except HubError as exc:
        return _form(request, get_customer(db, customer), found, endpoint, description, exc)
    return redirect(endpoints_url(customer), f"Integration endpoint '{endpoint}' of {customer} updated.", request)


@router.get("/customers/{customer}/endpoints/{endpoint}/delete")
def delete_endpoint_page(request: Request, db: Db, customer: str, endpoint: str):
    found = service.get_endpoint(db, customer, endpoint)
    return render(request, "endpoint_delete.html", customer=get_customer(db, customer), tab="endpoints",
                  endpoint=found, problem=None)


@router.post("/customers/{customer}/endpoints/{endpoint}/delete")
def delete_endpoint(request: Request, db: Db, customer: str, endpoint: str):
    found = service.get_endpoint(db, customer, endpoint)
    try:
        service.delete_endpoint(db, customer, endpoint)
    except HubError as exc:
        return render(request, "endpoint_delete.html", status_for(exc), customer=get_customer(db, customer),
                      tab="endpoints", endpoint=found, problem=said(exc))
    return redirect(endpoints_url(customer), f"Integration endpoint '{endpoint}' deleted from {customer}.", request)


def _form(request: Request, customer, endpoint, name: str, description: str, exc: HubError | None = None):
    """The New / Edit form; after a refusal, with each problem beside its field (422)."""
    errors, problem = form_errors(exc) if exc else ({}, None)
    return render(request, "endpoint_form.html", 422 if exc else 200, customer=customer, tab="endpoints",
                  endpoint=endpoint, name=name, description=description, errors=errors, problem=problem)


def _users(db: Session, endpoint_ids: list[int]) -> dict[int, list[str]]:
    """The integrations using each endpoint, by endpoint id (what a deletion would be refused for)."""
    users: dict[int, list[str]] = {}
    rows = db.exec(select(Integration.endpoint_id, Integration.name)
                   .where(Integration.endpoint_id.in_(endpoint_ids)).order_by(Integration.name))
    for endpoint_id, name in rows:
        users.setdefault(endpoint_id, []).append(name)
    return users
