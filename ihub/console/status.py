"""Status: every integration of every customer, with its status, schedule, last run and last
heartbeat (stale or not, as `ihub status` judges it)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import func
from sqlmodel import Session, select

from ihub.api.deps import Db
from ihub.console.pages import console_router, render
from models.config import Customer, Integration, utcnow
from models.logs import ActionLog
from models.schedules import describe, heartbeat_state, schedule_of

router = console_router()


@dataclass
class Overview:
    integration: Integration
    customer: str
    schedule: str | None
    last_run: ActionLog | None
    stale: bool | None
    why: str


def overview(db: Session) -> list[Overview]:
    """One row per integration; its last run is its newest action log (one grouped query for all)."""
    newest = select(func.max(ActionLog.id)).group_by(ActionLog.integration_id)
    last_runs = {log.integration_id: log for log in db.exec(select(ActionLog).where(ActionLog.id.in_(newest)))}
    now = utcnow()
    rows = []
    for integration, customer in db.exec(select(Integration, Customer.name).join(Customer)
                                         .order_by(Customer.name, Integration.name)):
        schedule = schedule_of(integration)
        stale, why = heartbeat_state(integration, now)
        rows.append(Overview(integration, customer, describe(schedule) if schedule else None,
                             last_runs.get(integration.id), stale, why))
    return rows


@router.get("/status")
def status_page(request: Request, db: Db):
    return render(request, "status.html", rows=overview(db))
