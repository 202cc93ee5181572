"""A customer's Integrations tab (partner applications, seed 001) and integrations list, each
integration linking to its Integration Manager page (seed 003).

First version: these pages show what is stored; adding and connecting partners, and the manager's
action logs, requests and API key, come next (the routes and templates are theirs to grow)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlmodel import Session, select

from ihub.api.deps import Db
from ihub.console.pages import console_router, render
from models.config import Integration, IntegrationEndpoint
from models.customers import get_customer
from models.endpoints import list_endpoints

router = console_router()


@dataclass
class Row:
    """An integration with the name of its endpoint, as the lists show it."""

    integration: Integration
    endpoint: str


def customer_integrations(db: Session, customer: str) -> list[Row]:
    found = get_customer(db, customer)
    rows = db.exec(select(Integration, IntegrationEndpoint.name).join(IntegrationEndpoint)
                   .where(Integration.customer_id == found.id).order_by(Integration.name))
    return [Row(integration, endpoint) for integration, endpoint in rows]


@router.get("/customers/{customer}/partners")
def partners_page(request: Request, db: Db, customer: str):
    """The Integrations tab: the partner applications added to the customer."""
    found = get_customer(db, customer)
    partners = [e for e in list_endpoints(db, customer) if e.partner]
    return render(request, "partners.html", customer=found, tab="partners", partners=partners)


@router.get("/customers/{customer}/integrations")
def integrations_page(request: Request, db: Db, customer: str):
    return render(request, "integrations.html", customer=get_customer(db, customer), tab="integrations",
                  rows=customer_integrations(db, customer))
