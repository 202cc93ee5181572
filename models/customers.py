"""Customers (seed 000): create, list, rename, delete."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.config import Customer, Integration, IntegrationEndpoint
from models.errors import Conflict, NotFound
from models.names import check_name, slug


def get_customer(db: Session, name: str) -> Customer:
    customer = db.exec(select(Customer).where(Customer.name == name)).first()
    if customer is None:
        raise NotFound(f"no customer '{name}'")
    return customer


def list_customers(db: Session) -> list[Customer]:
    return list(db.exec(select(Customer).order_by(Customer.name)))


def create_customer(db: Session, name: str) -> Customer:
    name = check_name("customer", name)
    if db.exec(select(Customer).where(Customer.name == name)).first():
        raise _taken(name)
    customer = Customer(name=name)
    db.add(customer)
    db.commit()
    return customer


def rename_customer(db: Session, name: str, new_name: str) -> Customer:
    customer = get_customer(db, name)
    new_name = check_name("customer", new_name)
    if new_name != name and db.exec(select(Customer).where(Customer.name == new_name)).first():
        raise _taken(new_name)
    customer.name = new_name
    db.add(customer)
    db.commit()
    return customer


def _taken(name: str) -> Conflict:
    problem = f"customer '{name}' already exists"
    return Conflict(problem, fields={"name": problem})


@dataclass
class Removed:
    """What deleting a customer took with it, so the operator is told."""

    integrations: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    credential_blocks: list[str] = field(default_factory=list)


def delete_customer(db: Session, name: str, force: bool = False) -> Removed:
    """Delete a customer; refused while it has integrations unless `force`, which removes them too."""
    customer = get_customer(db, name)
    integrations = list(db.exec(select(Integration).where(Integration.customer_id == customer.id)
                                .order_by(Integration.name)))
    if integrations and not force:
        names = ", ".join(i.name for i in integrations)
        raise Conflict(f"customer '{name}' has {len(integrations)} integration(s): {names}; "
                       "delete them first, or force the deletion to remove them with the customer")
    endpoints = list(db.exec(select(IntegrationEndpoint).where(IntegrationEndpoint.customer_id == customer.id)
                             .order_by(col(IntegrationEndpoint.name))))
    removed = Removed(
        integrations=[i.name for i in integrations],
        endpoints=[e.name for e in endpoints],
        # only the blocks connecting made for this customer's partners, not credentials chosen for a source
        credential_blocks=[e.credentials_block for e in endpoints
                           if e.credentials_block == slug(name, e.name, "credentials")],
    )
    for integration in integrations:  # before the endpoints they point at (RESTRICT)
        db.delete(integration)
    db.flush()
    db.delete(customer)  # its endpoints go by ON DELETE CASCADE
    db.commit()
    return removed
