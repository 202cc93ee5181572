"""The routes an integration calls with its own API key (seed 003): heartbeat, its queued requests,
its action logs. Nothing else is open to that key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ihub.api import schemas
from ihub.api.deps import Db, RowId
from ihub.api.errors import answers
from ihub.api.security import integration_caller
from ihub.api.views import log_view
from models import actions as manager
from models.config import Integration
from models.integrations import integration_ref
from models.logs import RunCounts

router = APIRouter(prefix="/integration", tags=["integration (own API key)"], responses=answers(401, 403, 422))
Caller = Depends(integration_caller)


@router.post("/heartbeat", summary="Phone home")
def heartbeat(db: Db, integration: Integration = Caller) -> schemas.Heartbeat:
    manager.heartbeat(db, integration)
    return schemas.Heartbeat(integration=integration_ref(db, integration),
                             last_heartbeat_at=integration.last_heartbeat_at)


@router.get("/requests", summary="The integration's queued action requests, oldest first")
def queued(db: Db, integration: Integration = Caller) -> list[schemas.QueuedRequest]:
    return [schemas.QueuedRequest(id=request.id, action=action.name, kind=action.kind, record=request.record_ref,
                                  log_id=log.id, created_at=request.created_at)
            for request, action, log in manager.queued_requests(db, integration)]


@router.post("/logs", status_code=201, summary="Report an attempt: a new action log", responses=answers(404))
def report(body: schemas.LogReport, db: Db, integration: Integration = Caller) -> schemas.LogPublic:
    log = manager.report_log(db, integration, action=body.action, status=body.status, record_ref=body.record,
                             message=body.message, counts=_counts(body.counts), trigger=body.trigger)
    return log_view(log, integration_ref(db, integration))


@router.patch("/logs/{log_id}", summary="Move one of the integration's action logs along", responses=answers(404),
              description="403 for another integration's log; a finished log does not change (422).")
def update(log_id: RowId, body: schemas.LogUpdate, db: Db, integration: Integration = Caller) -> schemas.LogPublic:
    log = manager.report_log(db, integration, log_id=log_id, status=body.status, message=body.message,
                             counts=_counts(body.counts))
    return log_view(log, integration_ref(db, integration))


def _counts(counts: schemas.Counts | None) -> RunCounts | None:
    return RunCounts(**counts.model_dump()) if counts is not None else None
