"""Table rows -> public response bodies."""

from __future__ import annotations

from sqlmodel import Session, select

from ihub.api import schemas
from models.config import Customer, Integration, IntegrationAction, IntegrationEndpoint
from models.logs import ActionLog, RunCounts
from models.schedules import schedule_of


def endpoint_view(db: Session, endpoint: IntegrationEndpoint) -> schemas.EndpointPublic:
    users = db.exec(select(Integration.name).where(Integration.endpoint_id == endpoint.id)
                    .order_by(Integration.name)).all()
    return schemas.EndpointPublic(**endpoint.model_dump(), integrations=list(users))


def integration_view(db: Session, integration: Integration) -> schemas.IntegrationPublic:
    customer = db.get(Customer, integration.customer_id)
    endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
    schedule = schedule_of(integration)
    return schemas.IntegrationPublic(
        ref=f"{customer.name}/{integration.name}", customer=customer.name, name=integration.name,
        status=integration.status, source=integration.source, data_type=integration.data_type,
        endpoint=endpoint.name, partner=endpoint.partner, connected=endpoint.connected if endpoint.partner else None,
        author=integration.author, support_contact=integration.support_contact,
        last_log_update_at=integration.last_log_update_at, last_heartbeat_at=integration.last_heartbeat_at,
        schedule=schedule, update_types=integration.update_types, deleted_mode=integration.deleted_mode,
        alert_emails=integration.alert_emails, error_threshold=integration.error_threshold,
        consecutive_failures=integration.consecutive_failures, disabled_reason=integration.disabled_reason,
        flow_retries=integration.flow_retries, flow_retry_delay_seconds=integration.flow_retry_delay_seconds,
        api_key_issued_at=integration.api_key_created_at,
    )


def log_view(log: ActionLog, ref: str) -> schemas.LogPublic:
    return schemas.LogPublic(
        **{name: getattr(log, name) for name in RunCounts.model_fields}, id=log.id, integration=ref,
        action=log.action, status=log.status, trigger=log.trigger, record_ref=log.record_ref, message=log.message,
        flow_run_id=log.flow_run_id, attempt=log.attempt, first_trigger=log.first_trigger, attempts=log.attempts(),
        history=log.attempts_line(), started_at=log.started_at, updated_at=log.updated_at,
        finished_at=log.finished_at,
    )


def action_view(action: IntegrationAction) -> schemas.ActionPublic:
    return schemas.ActionPublic(name=action.name, kind=action.kind, flow=action.flow, description=action.description)
