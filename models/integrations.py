"""Integrations as stored: find one by name, create one from a spec, rebuild its spec for a run.

The mapping lives in `FieldMapping` rows (operators edit it field by field, seed 002); the rest
of the connector spec is JSON on the integration. `connector_spec` puts them back together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from models.config import (
    ActionKind,
    Customer,
    FieldMapping,
    Integration,
    IntegrationAction,
    IntegrationEndpoint,
    IntegrationSource,
)
from models.engine import session
from models.errors import HubError, NotFound
from models.names import SYNC_FLOW
from models.suggest import closest, did_you_mean

if TYPE_CHECKING:  # the spec's models load when a spec is read: finding an integration needs none
    from models.spec import ConnectorSpec
_MAPPING_KEYS = ("mapping", "sync_key")


def find_integration(session: Session, ref: str) -> Integration:
    """`customer/name`, or a bare name when only one customer has an integration of that name."""
    customer_name, _, name = ref.rpartition("/")
    query = select(Integration).where(Integration.name == name)
    if customer_name:
        query = query.join(Customer).where(Customer.name == customer_name)
    found = session.exec(query).all()
    if not found:
        raise NotFound(_not_found(session, ref))
    if len(found) > 1:
        raise NotFound(f"'{ref}' names integrations of {len(found)} customers; write it as customer/{name}")
    return found[0]


def _not_found(session: Session, ref: str) -> str:
    """Why `ref` names no integration, with the closest one that exists, or the customer's when `ref` is one."""
    refs = [f"{customer}/{name}" for customer, name in
            session.exec(select(Customer.name, Integration.name).join(Integration).order_by(Integration.name))]
    if "/" not in ref and session.exec(select(Customer).where(Customer.name == ref)).first():
        theirs = [other for other in refs if other.startswith(f"{ref}/")]
        return (f"'{ref}' is a customer, not an integration; name an integration as customer/name: "
                + (", ".join(theirs) if theirs else f"{ref} has none yet (`ihub integrations create {ref} NAME ...`)"))
    if "/" in ref:
        return f"no integration '{ref}'" + did_you_mean(ref, refs)
    name = closest(ref, [other.partition("/")[2] for other in refs])
    likely = [other for other in refs if name and other.endswith(f"/{name}")]
    return f"no integration '{ref}'" + (f"; did you mean '{likely[0]}'?" if likely else "")


def integration_ref(session: Session, integration: Integration) -> str:
    customer = session.get(Customer, integration.customer_id)
    return f"{customer.name}/{integration.name}"


def connector_spec(session: Session, integration: Integration) -> ConnectorSpec:
    from models.spec import ConnectorSpec

    if integration.spec is None:
        raise HubError(f"{integration_ref(session, integration)} is built outside the hub: "
                       "it runs itself and reports through the API with its own key")
    rows = session.exec(select(FieldMapping).where(FieldMapping.integration_id == integration.id)).all()
    data = {
        **integration.spec,
        "mapping": {row.target_field: row.rule for row in rows},
        "sync_key": next((row.target_field for row in rows if row.is_sync_key), None),
    }
    return ConnectorSpec.parse(data, source=f"integration '{integration.name}'")


def action_name(session: Session, integration: Integration, kind: ActionKind) -> str:
    """What a sync or an export is called ("Import Assets", "Export Asset"), known from the actions
    saved with the spec even when the spec cannot be used now; "Import" or "Export" if it has none."""
    name = session.exec(select(IntegrationAction.name).where(
        IntegrationAction.integration_id == integration.id, IntegrationAction.kind == kind)).first()
    return name or kind.value.capitalize()


def runnable_spec(session: Session, integration: Integration) -> ConnectorSpec:
    """The spec a run uses, or a `HubError` saying why the integration cannot send or receive data now.

    A partner integration talks to its endpoint's region with its endpoint's credentials, and
    only while that endpoint is connected (seed 001).
    """
    from models.spec import SpecError

    ref = integration_ref(session, integration)
    try:
        spec = connector_spec(session, integration)
    except SpecError as exc:
        raise HubError(str(exc)) from None
    if spec.sync_key is None:
        raise HubError(f"{ref} has no primary (sync) key in its mapping: "
                       f"mark one with `ihub mapping key {ref} <field>`")
    endpoint = session.get(IntegrationEndpoint, integration.endpoint_id)
    if endpoint.partner is None:
        return spec
    if not endpoint.connected:
        why = f"{endpoint.status.value}: {endpoint.status_message}" if endpoint.status_message else endpoint.status.value
        customer = ref.rpartition("/")[0]
        region = endpoint.region or "REGION"
        raise HubError(f"endpoint '{endpoint.name}' of {customer} is not connected ({why}); data is only sent "
                       f"or received while it is connected: `ihub partners connect {customer} {endpoint.name} "
                       f"--region {region}`")
    if integration.source == IntegrationSource.partner:
        spec.request.base_url = endpoint.base_url
        spec.auth.block = endpoint.credentials_block
    return spec


def save_integration(
    session: Session, customer: Customer, endpoint: IntegrationEndpoint, name: str, spec: ConnectorSpec
) -> Integration:
    """Create the integration, or replace the spec and mapping of the one with this name."""
    integration = session.exec(
        select(Integration).where(Integration.customer_id == customer.id, Integration.name == name)
    ).first() or Integration(customer_id=customer.id, endpoint_id=endpoint.id, name=name, spec={})
    integration.endpoint_id = endpoint.id
    integration.spec = spec.model_dump(mode="json", exclude=set(_MAPPING_KEYS))
    session.add(integration)
    session.flush()
    for row in session.exec(select(FieldMapping).where(FieldMapping.integration_id == integration.id)):
        session.delete(row)
    session.flush()
    for target, rule in spec.mapping.items():
        session.add(
            FieldMapping(
                integration_id=integration.id,
                target_field=target,
                rule=rule.model_dump(mode="json", exclude_defaults=True),
                is_sync_key=target == spec.sync_key,
            )
        )
    _refresh_actions(session, integration, spec)
    session.commit()
    return integration


def _refresh_actions(session: Session, integration: Integration, spec: ConnectorSpec) -> None:
    """A hub-run integration can do what its spec describes: import, and export when the spec says how."""
    wanted = {spec.import_action: (ActionKind.import_, SYNC_FLOW,
                                   f"Fetch every {spec.target.object} record from {spec.vendor}")}
    export = spec.export_action
    if export:
        wanted[export] = (ActionKind.export, "export-record", f"Push one hub record to {spec.vendor}")
    existing = session.exec(select(IntegrationAction).where(IntegrationAction.integration_id == integration.id))
    for action in existing:
        if action.name in wanted:
            wanted.pop(action.name)
        elif action.flow is not None:
            session.delete(action)
    for name, (kind, flow, description) in wanted.items():
        session.add(IntegrationAction(integration_id=integration.id, name=name, kind=kind, flow=flow,
                                      description=description))


def onboard(session: Session, customer_name: str, endpoint_name: str, endpoint_description: str,
            name: str, spec: ConnectorSpec) -> Integration:
    """Save an integration for a customer's endpoint, creating the customer and endpoint if new."""
    customer = session.exec(select(Customer).where(Customer.name == customer_name)).first()
    if customer is None:
        customer = Customer(name=customer_name)
        session.add(customer)
        session.flush()
    endpoint = session.exec(select(IntegrationEndpoint).where(
        IntegrationEndpoint.customer_id == customer.id, IntegrationEndpoint.name == endpoint_name)).first()
    if endpoint is None:
        endpoint = IntegrationEndpoint(customer_id=customer.id, name=endpoint_name, description=endpoint_description)
        session.add(endpoint)
        session.flush()
    return save_integration(session, customer, endpoint, name, spec)


def save_sync_state(integration_id: int, state: dict) -> None:
    """Remember where incremental sync got to; called only after a successful run."""
    with session() as db:
        integration = db.get(Integration, integration_id)
        integration.sync_state = state
        db.add(integration)
        db.commit()
