"""A customer's integration endpoints (seed 000) and the partner applications added as endpoints (seed 001)."""

from __future__ import annotations

from sqlmodel import Session, select

from models.config import Customer, EndpointStatus, Integration, IntegrationEndpoint, utcnow
from models.customers import get_customer
from models.errors import Conflict, Invalid, NotFound, check_fields
from models.names import check_name


def get_endpoint(db: Session, customer: str | Customer, name: str) -> IntegrationEndpoint:
    customer = get_customer(db, customer) if isinstance(customer, str) else customer
    endpoint = db.exec(select(IntegrationEndpoint).where(
        IntegrationEndpoint.customer_id == customer.id, IntegrationEndpoint.name == name)).first()
    if endpoint is None:
        raise NotFound(f"customer '{customer.name}' has no integration endpoint '{name}'")
    return endpoint


def list_endpoints(db: Session, customer: str) -> list[IntegrationEndpoint]:
    found = get_customer(db, customer)
    return list(db.exec(select(IntegrationEndpoint).where(IntegrationEndpoint.customer_id == found.id)
                        .order_by(IntegrationEndpoint.name)))


def add_endpoint(db: Session, customer: str, name: str, description: str,
                 partner: str | None = None) -> IntegrationEndpoint:
    """Both fields are mandatory and the name is unique per customer (seed 000)."""
    found = get_customer(db, customer)
    checked = check_fields(name=lambda: check_name("endpoint", name), description=lambda: _description(description))
    name, description = checked["name"], checked["description"]
    if db.exec(select(IntegrationEndpoint).where(
            IntegrationEndpoint.customer_id == found.id, IntegrationEndpoint.name == name)).first():
        problem = f"customer '{customer}' already has an integration endpoint named '{name}'"
        raise Conflict(problem, fields={"name": problem})
    endpoint = IntegrationEndpoint(customer_id=found.id, name=name, description=description, partner=partner,
                                   status=EndpointStatus.available if partner else None)
    db.add(endpoint)
    db.commit()
    return endpoint


def edit_endpoint(db: Session, customer: str, name: str, description: str | None = None,
                  new_name: str | None = None) -> IntegrationEndpoint:
    """Only the description changes; the name is never editable (seed 000)."""
    endpoint = get_endpoint(db, customer, name)
    if new_name is not None and new_name != name:
        problem = f"the name of integration endpoint '{name}' cannot be changed; only its description can"
        raise Invalid(problem, fields={"name": problem})
    if description is None:
        raise Invalid("give the new description", fields={"description": "give the new description"})
    endpoint.description = _description(description)
    db.add(endpoint)
    db.commit()
    return endpoint


def delete_endpoint(db: Session, customer: str, name: str) -> IntegrationEndpoint:
    """Refused while integrations use the endpoint, naming them."""
    endpoint = get_endpoint(db, customer, name)
    users = db.exec(select(Integration.name).where(Integration.endpoint_id == endpoint.id)
                    .order_by(Integration.name)).all()
    if users:
        raise Conflict(f"integration endpoint '{name}' is used by {len(users)} integration(s): "
                       f"{', '.join(users)}; delete or move them first")
    db.delete(endpoint)
    db.commit()
    return endpoint


def add_partners(db: Session, customer: str, slugs: list[str]) -> list[IntegrationEndpoint]:
    """Add partner applications from the catalog as endpoints with status Available (seed 001)."""
    from models.partners import get_partner

    if not slugs:
        raise Invalid("choose at least one partner application from the catalog")
    partners = [get_partner(slug) for slug in dict.fromkeys(slugs)]  # every name checked before any is added
    found = get_customer(db, customer)
    taken = set(db.exec(select(IntegrationEndpoint.name).where(IntegrationEndpoint.customer_id == found.id)))
    clashes = [p.slug for p in partners if p.slug in taken]
    if clashes:
        raise Conflict(f"customer '{customer}' already has {', '.join(clashes)}")
    added = [IntegrationEndpoint(customer_id=found.id, name=p.slug, description=p.description or p.name,
                                 partner=p.slug, status=EndpointStatus.available) for p in partners]
    db.add_all(added)
    db.commit()
    return added


def disconnect(db: Session, customer: str, name: str) -> IntegrationEndpoint:
    """Stop data flowing to and from a partner: back to Available, not connected."""
    endpoint = partner_endpoint(db, customer, name)
    endpoint.connected = False
    endpoint.status = EndpointStatus.available
    endpoint.status_message = "disconnected by an operator"
    db.add(endpoint)
    db.commit()
    return endpoint


def partner_endpoint(db: Session, customer: str, name: str) -> IntegrationEndpoint:
    endpoint = get_endpoint(db, customer, name)
    if endpoint.partner is None:
        raise Invalid(f"integration endpoint '{name}' is not a partner application: it has no connection; "
                      "its integrations' connector specs name their URL and credentials")
    return endpoint


def _description(description: str | None) -> str:
    description = (description or "").strip()
    if not description:
        problem = "the description is mandatory"
    elif len(description) > 500:
        problem = f"the description is {len(description)} characters long; at most 500"
    else:
        return description
    raise Invalid(problem, fields={"description": problem})


KEPT = "the new credentials were refused, so the ones in use are kept"
"""What is said when new credentials failed their test and the working ones stayed (a partner's status message,
a refused rotation)."""


def record_connection(db: Session, endpoint_id: int, accepted: bool, message: str,
                      new: tuple[str, str, str] | None = None) -> IntegrationEndpoint:
    """Record a connection test of a partner endpoint (seed 001), of its saved credentials or of `new` ones.

    `new` is (region, base URL, credentials block) of new credentials, which replace the old only when
    accepted. New credentials refused while the endpoint is connected leave it Enabled and connected
    with the credentials in use, saying so: a typo must not stop every sync. Any other refusal
    makes it Failed, not connected; an endpoint that had no region yet keeps the one tried, so the
    reconnect command it suggests names it.
    """
    endpoint = db.get(IntegrationEndpoint, endpoint_id)
    if accepted:
        endpoint.status, endpoint.connected, endpoint.connected_at = EndpointStatus.enabled, True, utcnow()
        endpoint.status_message = message
        if new is not None:
            endpoint.region, endpoint.base_url, endpoint.credentials_block = new
    elif new is not None and endpoint.connected:
        endpoint.status_message = f"{KEPT}: {message}"
    else:
        endpoint.status, endpoint.connected, endpoint.connected_at = EndpointStatus.failed, False, None
        endpoint.status_message = message
        if new is not None and endpoint.region is None:
            endpoint.region = new[0]
    db.add(endpoint)
    db.commit()
    return endpoint
