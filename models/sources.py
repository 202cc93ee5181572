"""Integration sources (seed 002, step 0): what an operator configures once to connect to a third-party service.

A source is an integration endpoint made from a partner application of the catalog or from the
universal connector, with a name and an authorization (a credentials block, by name). Each type
of data to transfer under it becomes an integration, Inactive until it is mapped and activated.
"""

from __future__ import annotations

from sqlmodel import Session, select

from models.config import Integration, IntegrationEndpoint
from models.credentials import check_block_name
from models.endpoints import add_endpoint, get_endpoint
from models.errors import Invalid, check_fields
from models.integration_setup import create_integration
from models.partners import PartnerError, catalog, get_partner

UNIVERSAL = "universal-connector"
UNIVERSAL_LABEL = "Universal connector"


def source_choices() -> dict[str, str]:
    """What a source can be, value -> label: each partner application of the catalog, then the universal connector."""
    return {**{slug: partner.name for slug, partner in catalog().items()}, UNIVERSAL: UNIVERSAL_LABEL}


def source_label(endpoint: IntegrationEndpoint) -> str:
    if endpoint.partner is None:
        return UNIVERSAL_LABEL
    try:
        return get_partner(endpoint.partner).name
    except PartnerError:  # a partner no longer in the catalog
        return endpoint.partner


def create_source(db: Session, customer: str, name: str, source: str, credentials: str,
                  credentials_type: str | None = None) -> IntegrationEndpoint:
    """A new source named `name`; `credentials_type` (the block's, when known) must be the partner's auth type."""

    def kind() -> str:
        if source not in source_choices():
            raise Invalid(f"choose the integration source from the list: {', '.join(source_choices().values())}")
        return source

    def authorization() -> str:
        if not credentials:
            raise Invalid("choose the authorization from the third-party service authorizations")
        check_block_name(credentials)
        if source in catalog() and credentials_type and credentials_type != get_partner(source).auth_type:
            partner = get_partner(source)
            raise Invalid(f"{partner.name} takes {partner.auth_type} credentials; '{credentials}' are "
                          f"{credentials_type} credentials")
        return credentials

    checked = check_fields(source=kind, credentials=authorization)
    partner = None if checked["source"] == UNIVERSAL else get_partner(checked["source"])
    description = f"{partner.name if partner else UNIVERSAL_LABEL} integration source"
    endpoint = add_endpoint(db, customer, name, description, partner=partner.slug if partner else None)
    endpoint.credentials_block = checked["credentials"]
    db.add(endpoint)
    db.commit()
    return endpoint


def data_types(endpoint: IntegrationEndpoint) -> dict[str, str]:
    """The types of data a source can transfer, name -> label: its partner's; none for the universal connector."""
    if endpoint.partner is None:
        return {}
    return {name: data_type.label for name, data_type in get_partner(endpoint.partner).data_types.items()}


def add_data_type(db: Session, customer: str, source: str, data_type: str) -> Integration:
    """The integration configuration of one type of data, named `<source>-<data type>`; it starts Inactive."""
    endpoint = get_endpoint(db, customer, source)
    if endpoint.partner is None:
        raise Invalid(f"integration source '{source}' is a universal connector: describe its data with the "
                      "universal connector's steps")
    if not data_type:
        raise Invalid(f"choose the type of data to transfer: {', '.join(data_types(endpoint).values())}")
    return create_integration(db, customer, f"{source}-{data_type}", source, data_type=data_type)


def configurations(db: Session, endpoint: IntegrationEndpoint) -> list[Integration]:
    """The integration configurations of a source, by name."""
    return list(db.exec(select(Integration).where(Integration.endpoint_id == endpoint.id).order_by(Integration.name)))
