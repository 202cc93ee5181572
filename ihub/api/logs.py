"""Action logs (seed 003): list with filters, show one."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query

from ihub.api import schemas
from ihub.api.deps import Db, RowId
from ihub.api.errors import answers
from ihub.api.security import operator
from ihub.api.views import log_view
from models.actions import LogFilter, get_log, list_logs
from models.config import Integration
from models.customers import get_customer
from models.integrations import find_integration, integration_ref
from models.logs import ActionStatus

router = APIRouter(prefix="/logs", tags=["integration manager"], dependencies=[Depends(operator)],
                   responses=answers(401, 403, 404, 422))


@router.get("", summary="The newest action logs, filtered")
def logs(
    db: Db,
    customer: str | None = None,
    integration: str | None = Query(None, description="customer/name"),
    status: ActionStatus | None = None,
    action: str | None = Query(None, max_length=200, description="part of the action's name"),
    since: datetime | None = Query(None, description="updated at or after (ISO 8601; UTC when no offset)"),
    until: datetime | None = None,
    limit: int = Query(50, ge=1, le=1000),
) -> list[schemas.LogPublic]:
    where = LogFilter(status=status, action=action, since=_utc(since), until=_utc(until), limit=limit)
    if customer:
        where.customer = get_customer(db, customer)
    if integration:
        where.integration = find_integration(db, integration)
    return [log_view(log, ref) for log, ref in list_logs(db, where)]


@router.get("/{log_id}", summary="One action log")
def show_log(log_id: RowId, db: Db) -> schemas.LogPublic:
    log = get_log(db, log_id)
    return log_view(log, integration_ref(db, db.get(Integration, log.integration_id)))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=timezone.utc)
