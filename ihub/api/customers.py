"""Customers and their integration endpoints (seed 000), and the partners added to them (seed 001)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ihub.api import schemas
from ihub.api.deps import Db
from ihub.api.errors import answers
from ihub.api.security import operator
from ihub.api.views import endpoint_view
from models import customers as service
from models import endpoints as endpoint_service

router = APIRouter(prefix="/customers", dependencies=[Depends(operator)], responses=answers(401, 403, 422))
MISSING, CLASH = answers(404), answers(404, 409)
CUSTOMERS, ENDPOINTS, PARTNERS = ["customers"], ["integration endpoints"], ["partners"]


@router.get("", tags=CUSTOMERS, summary="List customers")
def list_customers(db: Db) -> list[schemas.CustomerPublic]:
    return [schemas.CustomerPublic(**c.model_dump()) for c in service.list_customers(db)]


@router.post("", status_code=201, tags=CUSTOMERS, summary="Onboard a customer", responses=answers(409))
def create_customer(body: schemas.CustomerCreate, db: Db) -> schemas.CustomerPublic:
    return schemas.CustomerPublic(**service.create_customer(db, body.name).model_dump())


@router.get("/{customer}", tags=CUSTOMERS, summary="Show a customer", responses=MISSING)
def show_customer(customer: str, db: Db) -> schemas.CustomerPublic:
    return schemas.CustomerPublic(**service.get_customer(db, customer).model_dump())


@router.patch("/{customer}", tags=CUSTOMERS, summary="Rename a customer", responses=CLASH)
def rename_customer(customer: str, body: schemas.CustomerUpdate, db: Db) -> schemas.CustomerPublic:
    return schemas.CustomerPublic(**service.rename_customer(db, customer, body.name).model_dump())


@router.delete("/{customer}", tags=CUSTOMERS, summary="Delete a customer", responses=CLASH,
               description="Refused (409) while it has integrations, unless `force`, which removes them too.")
def delete_customer(customer: str, db: Db, force: bool = Query(False)) -> schemas.CustomerRemoved:
    from ihub.operations import remove_blocks

    removed = service.delete_customer(db, customer, force=force)
    remove_blocks(removed.credential_blocks)
    return schemas.CustomerRemoved(message=f"customer '{customer}' deleted", **removed.__dict__)


@router.get("/{customer}/endpoints", tags=ENDPOINTS, summary="List a customer's integration endpoints",
            responses=MISSING)
def list_endpoints(customer: str, db: Db) -> list[schemas.EndpointPublic]:
    return [endpoint_view(db, e) for e in endpoint_service.list_endpoints(db, customer)]


@router.post("/{customer}/endpoints", status_code=201, tags=ENDPOINTS, summary="Add an integration endpoint",
             responses=CLASH,
             description="Name and description are both mandatory; the name is unique per customer.")
def add_endpoint(customer: str, body: schemas.EndpointCreate, db: Db) -> schemas.EndpointPublic:
    return endpoint_view(db, endpoint_service.add_endpoint(db, customer, body.name, body.description))


@router.get("/{customer}/endpoints/{endpoint}", tags=ENDPOINTS, summary="Show an integration endpoint",
            responses=MISSING)
def show_endpoint(customer: str, endpoint: str, db: Db) -> schemas.EndpointPublic:
    return endpoint_view(db, endpoint_service.get_endpoint(db, customer, endpoint))


@router.patch("/{customer}/endpoints/{endpoint}", tags=ENDPOINTS, summary="Edit an endpoint's description",
              responses=MISSING,
              description="The name is never editable: an attempt is refused with 422.")
def edit_endpoint(customer: str, endpoint: str, body: schemas.EndpointUpdate, db: Db) -> schemas.EndpointPublic:
    return endpoint_view(db, endpoint_service.edit_endpoint(db, customer, endpoint, body.description, body.name))


@router.delete("/{customer}/endpoints/{endpoint}", tags=ENDPOINTS, summary="Delete an integration endpoint",
               responses=CLASH,
               description="Refused (409) while integrations use it; the message names them.")
def delete_endpoint(customer: str, endpoint: str, db: Db) -> schemas.Message:
    endpoint_service.delete_endpoint(db, customer, endpoint)
    return schemas.Message(message=f"integration endpoint '{endpoint}' deleted from {customer}")


@router.post("/{customer}/partners", status_code=201, tags=PARTNERS, summary="Add partner applications",
             responses=CLASH,
             description="Each becomes an endpoint with status Available until it is connected.")
def add_partners(customer: str, body: schemas.PartnersAdd, db: Db) -> list[schemas.EndpointPublic]:
    return [endpoint_view(db, e) for e in endpoint_service.add_partners(db, customer, body.partners)]


@router.post("/{customer}/partners/{partner}/connect", tags=PARTNERS, summary="Connect a partner", responses=MISSING,
             description="Tests the credentials with the `connect-endpoint` flow and, if the partner accepts them, "
                         "keeps them in a Prefect block: Enabled and connected (`accepted`). Refused, they replace "
                         "nothing: a connected endpoint stays Enabled with the credentials in use (its "
                         "status_message says so), any other becomes Failed with the vendor's reason.")
def connect_partner(customer: str, partner: str, body: schemas.ConnectRequest, db: Db) -> schemas.ConnectResult:
    from ihub.operations import connect_partner as connect

    secrets = {name: value.get_secret_value() for name, value in body.credentials.items()}
    outcome = connect(customer, partner, body.region, secrets, body.tenant)
    return schemas.ConnectResult(**endpoint_view(db, outcome.endpoint).model_dump(), accepted=outcome.accepted)


@router.post("/{customer}/partners/{partner}/disconnect", tags=PARTNERS, summary="Disconnect a partner",
             responses=MISSING)
def disconnect_partner(customer: str, partner: str, db: Db) -> schemas.EndpointPublic:
    return endpoint_view(db, endpoint_service.disconnect(db, customer, partner))
