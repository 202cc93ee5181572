"""Status: every integration of every customer, with its status, schedule, last run and last
heartbeat (stale or not, as `ihub status` judges it), 50 a page so a big hub's page stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Query, Request
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


PAGE_SIZE = 50


def overview(db: Session, page: int = 1) -> tuple[list[Overview], int]:
    """One page of integrations (by customer, then name) and how many there are in all; each
    integration's last run is its newest action log (one grouped query for the page)."""
    total = db.exec(select(func.count()).select_from(Integration)).one()
    found = list(db.exec(select(Integration, Customer.name).join(Customer).order_by(Customer.name, Integration.name)
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    newest = (select(func.max(ActionLog.id)).where(ActionLog.integration_id.in_([i.id for i, _ in found]))
              .group_by(ActionLog.integration_id))
    last_runs = {log.integration_id: log for log in db.exec(select(ActionLog).where(ActionLog.id.in_(newest)))}
    now = utcnow()
    rows = []
    for integration, customer in found:
        schedule = schedule_of(integration)
        stale, why = heartbeat_state(integration, now)
        rows.append(Overview(integration, customer, describe(schedule) if schedule else None,
                             last_runs.get(integration.id), stale, why))
    return rows, total


@router.get("/status")
def status_page(request: Request, db: Db, page: int = Query(1, ge=1, le=100_000)):
    rows, total = overview(db, page)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "status.html", rows=rows, total=total, page=page, pages=pages)
