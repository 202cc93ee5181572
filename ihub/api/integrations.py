"""Integrations (seeds 002, 004) and the integration manager (seed 003): settings, mapping, API key,
actions and action requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from sqlmodel import Session, select

from ihub.api import schemas
from ihub.api.deps import Db
from ihub.api.schemas import NUL_PROBLEM, contains_nul
from ihub.api.errors import answers
from ihub.api.security import operator
from ihub.api.views import action_view, integration_view, log_view
from models import actions as manager
from models import integration_setup as setup
from models import mapping
from models.api_keys import issue_key
from models.config import Integration
from models.customers import get_customer
from models.errors import Invalid
from models.integrations import find_integration
from models.spec import ConnectorSpec, SpecError

router = APIRouter(prefix="/customers/{customer}/integrations", dependencies=[Depends(operator)],
                   responses=answers(401, 403, 404, 422))
INTEGRATIONS, MAPPING, MANAGER = ["integrations"], ["mapping"], ["integration manager"]


def _find(db: Session, customer: str, name: str) -> Integration:
    get_customer(db, customer)
    return find_integration(db, f"{customer}/{name}")


@router.get("", tags=INTEGRATIONS, summary="List a customer's integrations")
def list_integrations(customer: str, db: Db) -> list[schemas.IntegrationPublic]:
    found = get_customer(db, customer)
    rows = db.exec(select(Integration).where(Integration.customer_id == found.id).order_by(Integration.name))
    return [integration_view(db, i) for i in rows]


@router.post("", status_code=201, tags=INTEGRATIONS, summary="Create an integration", responses=answers(409),
             description="From a partner data type, a universal-connector spec, or as external (built outside "
                         "the hub). It starts Inactive.")
def create_integration(customer: str, body: schemas.IntegrationCreate, db: Db) -> schemas.IntegrationPublic:
    spec = None
    if body.spec is not None:
        try:
            spec = ConnectorSpec.parse(body.spec, source="spec")
        except SpecError as exc:
            raise Invalid(str(exc)) from None
    integration = setup.create_integration(db, customer, body.name, body.endpoint, data_type=body.data_type,
                                           spec=spec, external=body.external, author=body.author,
                                           support_contact=body.support_contact)
    return integration_view(db, integration)


@router.get("/{name}", tags=INTEGRATIONS, summary="The integration manager's header and the settings")
def show_integration(customer: str, name: str, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, _find(db, customer, name))


@router.delete("/{name}", tags=INTEGRATIONS, summary="Delete an integration with its mapping, logs and records")
def delete_integration(customer: str, name: str, db: Db) -> schemas.Message:
    setup.delete_integration(db, _find(db, customer, name))
    return schemas.Message(message=f"{customer}/{name} deleted")


@router.get("/{name}/spec", tags=INTEGRATIONS, summary="The integration's connector spec")
def show_spec(customer: str, name: str, db: Db) -> dict[str, Any]:
    from models.integrations import connector_spec

    try:
        spec = connector_spec(db, _find(db, customer, name))
    except SpecError as exc:
        raise Invalid(str(exc)) from None
    return spec.model_dump(mode="json", exclude_none=True)


@router.put("/{name}/spec", tags=INTEGRATIONS, summary="Replace the connector spec", responses=answers(409),
            description="The new spec is validated whole first (422 names each problem). The records, action logs, "
                        "sync state, schedule (unless the spec sets one) and API key are kept. A new sync key or "
                        "target object is refused (409) while records are stored, unless `force`, which deletes "
                        "them and the sync state.")
def edit_spec(customer: str, name: str, body: dict[str, Any], db: Db, force: bool = Query(False)) -> schemas.Message:
    from models.spec_edit import edit_spec as edit

    integration = _find(db, customer, name)
    if contains_nul(body):
        raise Invalid(NUL_PROBLEM)
    try:
        spec = ConnectorSpec.parse(body, source="spec")
    except SpecError as exc:
        raise Invalid(str(exc)) from None
    return schemas.Message(message=edit(db, integration, spec, force=force).summary())


@router.post("/{name}/activate", tags=INTEGRATIONS, summary="Activate",
             description="Refused (422) until the mapping has a primary (sync) key.")
def activate(customer: str, name: str, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, setup.activate(db, _find(db, customer, name)))


@router.post("/{name}/deactivate", tags=INTEGRATIONS, summary="Deactivate")
def deactivate(customer: str, name: str, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, setup.deactivate(db, _find(db, customer, name)))


@router.put("/{name}/update-types", tags=INTEGRATIONS, summary="Choose which vendor changes a sync applies")
def update_types(customer: str, name: str, body: schemas.UpdateTypes, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, setup.set_update_types(db, _find(db, customer, name), body.types, body.deleted_mode))


@router.put("/{name}/alerts", tags=INTEGRATIONS, summary="Alert e-mails and the error threshold")
def alerts(customer: str, name: str, body: schemas.Alerts, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, setup.set_alerts(db, _find(db, customer, name), body.add, body.remove,
                                                 body.threshold))


@router.put("/{name}/schedule", tags=INTEGRATIONS, summary="Change when the integration runs")
def schedule(customer: str, name: str, body: schemas.Schedule, db: Db) -> schemas.ScheduleOut:
    return schemas.ScheduleOut(**setup.set_schedule(db, _find(db, customer, name), body.cron, body.timezone))


@router.put("/{name}/retries", tags=INTEGRATIONS, summary="Automatic re-runs of a failed run")
def retries(customer: str, name: str, body: schemas.Retries, db: Db) -> schemas.IntegrationPublic:
    return integration_view(db, setup.set_retries(db, _find(db, customer, name), body.retries, body.delay_seconds))


@router.post("/{name}/api-key", status_code=201, tags=INTEGRATIONS, summary="Issue or rotate the API key",
             responses=answers(409),
             description="The key is in this answer only; the hub keeps its hash. A second issue without "
                         "`rotate` is refused (409).")
def api_key(customer: str, name: str, db: Db, rotate: bool = False) -> schemas.ApiKeyIssued:
    integration = _find(db, customer, name)
    key = issue_key(db, integration, rotate=rotate)
    return schemas.ApiKeyIssued(key=key, issued_at=integration.api_key_created_at)


@router.get("/{name}/mapping", tags=MAPPING, summary="The field mapping")
def show_mapping(customer: str, name: str, db: Db) -> list[schemas.MappingField]:
    return [schemas.MappingField(target=row.target_field, rule=row.rule, primary_key=row.is_sync_key)
            for row in mapping.mapping_rows(db, _find(db, customer, name))]


@router.put("/{name}/mapping/{target}", tags=MAPPING, summary="Map one hub field")
def set_field(customer: str, name: str, target: str, body: schemas.MappingSet, db: Db) -> schemas.MappingField:
    row = mapping.set_field(db, _find(db, customer, name), target, body.rule, primary_key=body.primary_key)
    return schemas.MappingField(target=row.target_field, rule=row.rule, primary_key=row.is_sync_key)


@router.delete("/{name}/mapping/{target}", tags=MAPPING, summary="Stop filling a hub field")
def remove_field(customer: str, name: str, target: str, db: Db) -> schemas.Message:
    return schemas.Message(message=mapping.remove_field(db, _find(db, customer, name), target))


@router.put("/{name}/sync-key", tags=MAPPING, summary="Make a mapped field the primary (sync) key")
def set_sync_key(customer: str, name: str, body: schemas.SyncKey, db: Db) -> schemas.MappingField:
    row = mapping.set_sync_key(db, _find(db, customer, name), body.target)
    return schemas.MappingField(target=row.target_field, rule=row.rule, primary_key=row.is_sync_key)


@router.get("/{name}/actions", tags=MANAGER, summary="The integration's actions")
def list_actions(customer: str, name: str, db: Db) -> list[schemas.ActionPublic]:
    return [action_view(a) for a in manager.list_actions(db, _find(db, customer, name))]


@router.post("/{name}/actions", status_code=201, tags=MANAGER, summary="Declare an action",
             description="For integrations built outside the hub; a hub-run integration's come from its spec.")
def add_action(customer: str, name: str, body: schemas.ActionCreate, db: Db) -> schemas.ActionPublic:
    integration = _find(db, customer, name)
    return action_view(manager.add_action(db, integration, body.name, body.kind.value, body.description))


@router.post("/{name}/requests", status_code=202, tags=MANAGER, summary="Request an action",
             description="Writes the Queued action log at once and answers with it; a hub-run integration's "
                         "run starts right after. An external integration picks the request up itself.")
def request_action(customer: str, name: str, body: schemas.RequestCreate, db: Db,
                   background: BackgroundTasks) -> schemas.LogPublic:
    from ihub.operations import start_request

    requested = manager.request_action(db, _find(db, customer, name), body.action, body.record, via="api")
    if requested.action.flow is not None:
        background.add_task(start_request, requested.request.id)
    return log_view(requested.log, f"{customer}/{name}")
