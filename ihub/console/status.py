"""Status: every integration of every customer, with its status and last heartbeat."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import select

from ihub.api.deps import Db
from ihub.console.pages import console_router, render
from models.config import Customer, Integration

router = console_router()


@router.get("/status")
def status_page(request: Request, db: Db):
    rows = db.exec(select(Integration, Customer.name).join(Customer).order_by(Customer.name, Integration.name))
    return render(request, "status.html", rows=list(rows))
