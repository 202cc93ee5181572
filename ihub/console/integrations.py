"""A customer's integrations list, each integration linking to its Integration Manager page (seed 003).

The Integrations tab (partner applications, seed 001) is ihub/console/partners.py."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlmodel import Session, select

from ihub.api.deps import Db
from ihub.console.pages import console_router, render
from models.config import Integration, IntegrationEndpoint
from models.customers import get_customer

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


@router.get("/customers/{customer}/integrations")
def integrations_page(request: Request, db: Db, customer: str):
    return render(request, "integrations.html", customer=get_customer(db, customer), tab="integrations",
                  rows=customer_integrations(db, customer))
