"""Create an integration (seed 002, steps 1 to 4): choose the integration configuration, then its types of
updates ("Save"), the "Email alert" section ("Add" addresses, the error threshold), the schedule (daily by
default; the cron and the time zone checked as typed, each problem beside its field) and, at the bottom, "Activate".

Each form calls models/integration_setup.py, as `ihub integrations ...` does, and comes back to this page.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import Form, Request
from sqlmodel import select

from ihub.api.deps import Db
from ihub.api.errors import status_for
from ihub.console.mapping import mapping_url
from ihub.console.pages import console_router, form_errors, redirect, render, said
from models import integration_setup as service
from models.config import DeletedMode, Integration, IntegrationEndpoint, UpdateType
from models.customers import get_customer
from models.errors import HubError, Invalid
from models.integrations import find_integration
from models.schedules import schedule_of
from models.sources import data_types, source_label

router = console_router()


def page_url(customer: str, configuration: str | None = None) -> str:
    url = f"/customers/{quote(customer, safe='')}/create-integration"
    return f"{url}?{urlencode({'configuration': configuration})}" if configuration else url


@router.get("/customers/{customer}/create-integration")
def create_page(request: Request, db: Db, customer: str, configuration: str = ""):
    return _page(request, db, customer, configuration)


@router.post("/customers/{customer}/create-integration/{name}/updates")
def save_updates(request: Request, db: Db, customer: str, name: str, types: list[str] = Form([]),
                 deleted_mode: str = Form("")):
    integration = find_integration(db, f"{customer}/{name}")
    try:
        service.set_update_types(db, integration, types, deleted_mode or None)
    except HubError as exc:
        return _page(request, db, customer, name, status_for(exc), problems={"updates": said(exc)})
    return redirect(page_url(customer, name), f"Types of updates of '{name}' saved: {', '.join(integration.update_types)}.",
                    request)


@router.post("/customers/{customer}/create-integration/{name}/alerts")
def change_alerts(request: Request, db: Db, customer: str, name: str, add: str = Form(""), remove: str = Form(""),
                  threshold: str = Form("")):
    """"Add" an address, remove one, or save the error threshold."""
    integration = find_integration(db, f"{customer}/{name}")
    try:
        service.set_alerts(db, integration, add=[add] if add.strip() else [], remove=[remove] if remove else [],
                           threshold=_whole_number(threshold) if threshold.strip() else None)
    except HubError as exc:
        return _page(request, db, customer, name, status_for(exc), problems={"alerts": said(exc)},
                     typed={"add": add, "threshold": threshold})
    done = (f"{add.strip()} will get the alerts" if add.strip() else f"{remove} will no longer get the alerts"
            if remove else f"The error threshold is {integration.error_threshold} consecutive failed runs")
    return redirect(page_url(customer, name), f"{done}.", request)


@router.post("/customers/{customer}/create-integration/{name}/schedule")
def save_schedule(request: Request, db: Db, customer: str, name: str, cron: str = Form(""), timezone: str = Form("")):
    integration = find_integration(db, f"{customer}/{name}")
    try:
        schedule = service.set_schedule(db, integration, cron, timezone)
    except HubError as exc:
        errors, problem = form_errors(exc)
        return _page(request, db, customer, name, status_for(exc), errors=errors, problems={"schedule": problem},
                     typed={"cron": cron, "timezone": timezone})
    return redirect(page_url(customer, name), f"Schedule of '{name}' saved: {schedule['cron']} ({schedule['timezone']}).",
                    request)


@router.post("/customers/{customer}/create-integration/{name}/activate")
def activate(request: Request, db: Db, customer: str, name: str):
    integration = find_integration(db, f"{customer}/{name}")
    try:
        service.activate(db, integration)
    except HubError as exc:
        return _page(request, db, customer, name, status_for(exc), problems={"activate": said(exc)})
    return redirect(page_url(customer, name), f"Integration '{name}' is Active.", request)


def _whole_number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid(f"the error threshold is a number of consecutive failed runs, not {text.strip()!r}") from None


def _page(request: Request, db: Db, customer: str, configuration: str, status_code: int = 200,
          problems: dict | None = None, errors: dict | None = None, typed: dict | None = None):
    found = get_customer(db, customer)
    rows = db.exec(select(Integration, IntegrationEndpoint).join(IntegrationEndpoint)
                   .where(Integration.customer_id == found.id, Integration.spec.is_not(None)).order_by(Integration.name))
    choices = {integration.name: _label(integration, endpoint) for integration, endpoint in rows}
    integration = find_integration(db, f"{customer}/{configuration}") if configuration else None
    context = {}
    if integration is not None:
        endpoint = db.get(IntegrationEndpoint, integration.endpoint_id)
        others = db.exec(select(Integration.alert_emails).where(Integration.customer_id == found.id))
        context = dict(data_type=data_types(endpoint).get(integration.data_type, integration.data_type or integration.name),
                       schedule=schedule_of(integration), known_emails=sorted({e for emails in others for e in emails}),
                       mapping=mapping_url(customer, integration.name, page_url(customer, integration.name)),
                       base=f"/customers/{quote(customer, safe='')}/create-integration/{quote(integration.name, safe='')}")
    return render(request, "create_integration.html", status_code, customer=found, tab="sources", choices=choices,
                  integration=integration, update_types=[t.value for t in UpdateType],
                  deleted_modes=[m.value for m in DeletedMode], problems=problems or {}, errors=errors or {},
                  typed=typed or {}, **context)


def _label(integration: Integration, endpoint: IntegrationEndpoint) -> str:
    kind = data_types(endpoint).get(integration.data_type) if integration.data_type else None
    return f"{integration.name} ({source_label(endpoint)}{' · ' + kind if kind else ''})"
