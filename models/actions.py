"""The integration manager (seed 003): actions, action requests, action logs and heartbeats.

A request writes its Queued log at once; the run that performs it (or, for an integration built
outside the hub, the integration itself through the API) moves that log along.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.config import ActionKind, Customer, Integration, IntegrationAction, utcnow
from models.errors import Forbidden, Invalid, NotFound
from models.integrations import integration_ref
from models.logs import ActionLog, ActionRequest, ActionStatus, RunCounts, Trigger
from models.redact import redact

FINISHED = {ActionStatus.completed, ActionStatus.failed, ActionStatus.cancelled, ActionStatus.incomplete}


def list_actions(db: Session, integration: Integration) -> list[IntegrationAction]:
    return list(db.exec(select(IntegrationAction).where(IntegrationAction.integration_id == integration.id)
                        .order_by(IntegrationAction.id)))


def get_action(db: Session, integration: Integration, name: str) -> IntegrationAction:
    actions = list_actions(db, integration)
    for action in actions:
        if action.name.lower() == name.strip().lower():
            return action
    known = ", ".join(repr(a.name) for a in actions) or "none yet"
    raise NotFound(f"{integration_ref(db, integration)} has no action {name!r}; its actions: {known}")


def add_action(db: Session, integration: Integration, name: str, kind: str, description: str = "") -> IntegrationAction:
    """Declare a capability of an integration built outside the hub (a hub-run one has its spec's)."""
    ref = integration_ref(db, integration)
    if integration.spec is not None:
        raise Invalid(f"{ref} runs in the hub: its actions come from its spec ("
                      f"{', '.join(a.name for a in list_actions(db, integration))})")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 64:
        raise Invalid("an action name has 1 to 64 characters, e.g. 'Export Quote'")
    kinds = [k.value for k in ActionKind]
    if kind not in kinds:
        raise Invalid(f"an action's kind is one of {', '.join(kinds)}, not {kind!r}")
    if any(a.name.lower() == name.lower() for a in list_actions(db, integration)):
        raise Invalid(f"{ref} already has an action {name!r}")
    action = IntegrationAction(integration_id=integration.id, name=name, kind=ActionKind(kind),
                               description=description.strip())
    db.add(action)
    db.commit()
    return action


@dataclass
class Requested:
    request: ActionRequest
    log: ActionLog
    action: IntegrationAction


def request_action(db: Session, integration: Integration, action_name: str, record_ref: str | None = None,
                   via: str = "cli") -> Requested:
    """Queue an action: the Queued log row is written at once (seed 003)."""
    action = get_action(db, integration, action_name)
    record_ref = record_ref.strip() if record_ref else None
    if action.kind == ActionKind.export and not record_ref:
        raise Invalid(f"{action.name} needs the record to export, e.g. its sync key 42")
    if action.kind == ActionKind.import_ and record_ref:
        raise Invalid(f"{action.name} works on every record; it takes no record reference")
    log = ActionLog(integration_id=integration.id, action=action.name, status=ActionStatus.queued,
                    trigger=Trigger.request, record_ref=record_ref, message="queued")
    db.add(log)
    db.flush()
    request = ActionRequest(integration_id=integration.id, action_id=action.id, record_ref=record_ref,
                            log_id=log.id, requested_via=via)
    db.add(request)
    _touch(integration, heartbeat=False)
    db.add(integration)
    db.commit()
    return Requested(request, log, action)


def queued_requests(db: Session, integration: Integration) -> list[tuple[ActionRequest, IntegrationAction, ActionLog]]:
    """The requests still waiting for the integration to pick them up, oldest first."""
    return list(db.exec(
        select(ActionRequest, IntegrationAction, ActionLog)
        .join(IntegrationAction, IntegrationAction.id == ActionRequest.action_id)
        .join(ActionLog, ActionLog.id == ActionRequest.log_id)
        .where(ActionRequest.integration_id == integration.id, ActionLog.status == ActionStatus.queued)
        .order_by(ActionRequest.id)))


@dataclass
class LogFilter:
    integration: Integration | None = None
    customer: Customer | None = None
    status: ActionStatus | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    before: int | None = None
    """Paging: only logs older than this log id (the next page)."""
    after: int | None = None
    """Paging: only logs newer than this log id (the previous page), still listed newest first."""


def list_logs(db: Session, where: LogFilter) -> list[tuple[ActionLog, str]]:
    """The newest logs matching the filter, each with its integration's `customer/name`."""
    query = (select(ActionLog, Customer.name, Integration.name)
             .join(Integration, Integration.id == ActionLog.integration_id).join(Customer))
    if where.integration is not None:
        query = query.where(ActionLog.integration_id == where.integration.id)
    if where.customer is not None:
        query = query.where(Integration.customer_id == where.customer.id)
    if where.status is not None:
        query = query.where(ActionLog.status == where.status)
    if where.action:
        query = query.where(col(ActionLog.action).ilike(f"%{where.action.strip()}%"))
    if where.since is not None:
        query = query.where(ActionLog.updated_at >= where.since)
    if where.until is not None:
        query = query.where(ActionLog.updated_at <= where.until)
    if where.before is not None:
        query = query.where(ActionLog.id < where.before)
    if where.after is not None:  # the page just above: the oldest newer ones, then newest first again
        query = query.where(ActionLog.id > where.after)
        rows = list(reversed(db.exec(query.order_by(col(ActionLog.id)).limit(where.limit)).all()))
    else:
        rows = db.exec(query.order_by(col(ActionLog.id).desc()).limit(where.limit)).all()
    return [(log, f"{customer}/{name}") for log, customer, name in rows]


def get_log(db: Session, log_id: int, integration: Integration | None = None) -> ActionLog:
    """One log; with `integration` (an integration's own key), a log of another integration is forbidden."""
    log = db.get(ActionLog, log_id)
    if log is None:
        raise NotFound(f"no action log {log_id}")
    if integration is not None and log.integration_id != integration.id:
        raise Forbidden(f"action log {log_id} belongs to another integration")
    return log


def report_log(db: Session, integration: Integration, *, log_id: int | None = None, action: str | None = None,
               status: ActionStatus | None = None, record_ref: str | None = None, message: str | None = None,
               counts: RunCounts | None = None, trigger: Trigger = Trigger.manual) -> ActionLog:
    """An integration built outside the hub writes its own action log: a new row, or an update of one of its own.

    A finished log (Completed, Failed, Cancelled) is final, and only the hub queues: a report
    moves a log forward, never back to Queued.
    """
    if status == ActionStatus.queued:
        raise Invalid("Queued is what the hub writes when it queues a request; "
                      "report In Progress, Completed, Failed or Cancelled")
    if log_id is None:
        if not action:
            raise Invalid("a new action log needs the action it reports, e.g. 'Export Quote'")
        log = ActionLog(integration_id=integration.id, action=get_action(db, integration, action).name,
                        trigger=trigger, record_ref=record_ref, status=status or ActionStatus.in_progress)
    else:
        log = get_log(db, log_id, integration)
        if log.status in FINISHED:
            raise Invalid(f"action log {log_id} is already {log.status.value}; a finished log does not change")
        if status is not None:
            log.status = status
    if message is not None:
        log.message = redact(message)
    if counts is not None:
        for name in RunCounts.model_fields:
            setattr(log, name, getattr(counts, name))
    now = utcnow()
    log.updated_at = now
    if log.status in FINISHED:
        log.finished_at = now
    db.add(log)
    _touch(integration, heartbeat=True)
    db.add(integration)
    db.commit()
    return log


def heartbeat(db: Session, integration: Integration) -> Integration:
    """The integration "phoned home" (seed 003)."""
    integration.last_heartbeat_at = utcnow()
    db.add(integration)
    db.commit()
    return integration


def _touch(integration: Integration, heartbeat: bool) -> None:
    now = utcnow()
    integration.last_log_update_at = now
    if heartbeat:
        integration.last_heartbeat_at = now
