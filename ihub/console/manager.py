"""The Integration Manager (seed 003), per integration: the header (last action-log update, the
heartbeat and whether it has gone stale, author, support contact), the action logs (filtered,
paged), a log's details, the Action Requests tab and the Connectivity tab (the API key).

A requested action starts the way the REST API starts one: its Queued log is written at once,
then `ihub.operations.start_request` runs the flow in a background thread of this process
(Prefect imported only then). The log's row polls a JSON route (static/manager.js) so its status
moves without a reload; without JavaScript the page refreshes itself while a log is unfinished.
"""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import quote, urlencode

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from ihub.api.deps import Db, RowId
from ihub.console.pages import console_router, redirect, render, said
from models.actions import FINISHED, LogFilter, get_log, list_actions, list_logs, request_action
from models.api_keys import issue_key
from models.config import Integration, IntegrationAction, IntegrationEndpoint, utcnow
from models.customers import get_customer
from models.errors import HubError
from models.integrations import find_integration
from models.logs import ActionLog, ActionRequest, ActionStatus, RunCounts
from models.names import SYNC_FLOW, deployment_name
from models.schedules import describe, heartbeat_state, schedule_of

router = console_router()

PAGE_SIZE = 25
WITHIN = {"1h": ("the last hour", timedelta(hours=1)), "24h": ("the last 24 hours", timedelta(days=1)),
          "7d": ("the last 7 days", timedelta(days=7)), "30d": ("the last 30 days", timedelta(days=30))}
"""The time filter's choices: logs updated within this long."""


def prefect_ui_url() -> str | None:
    """The Prefect UI's base URL: PREFECT_UI_URL, else PREFECT_API_URL less its `/api`; None when neither is set."""
    ui = os.environ.get("PREFECT_UI_URL", "").strip()
    if ui:
        return ui.rstrip("/")
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if not api:
        return None
    return api[: -len("/api")] if api.endswith("/api") else api


def _base(customer: str, name: str) -> str:
    return f"/customers/{quote(customer, safe='')}/integrations/{quote(name, safe='')}"


def _context(request: Request, db: Session, customer: str, name: str, sub: str) -> dict:
    """What every Integration Manager page shows: the customer's tabs, the header and the manager's own tabs."""
    found = get_customer(db, customer)
    integration = find_integration(db, f"{customer}/{name}")
    stale, why = heartbeat_state(integration, utcnow())
    schedule = schedule_of(integration)
    return dict(customer=found, tab="integrations", sub=sub, integration=integration,
                endpoint=db.get(IntegrationEndpoint, integration.endpoint_id), base=_base(customer, name),
                stale=stale, stale_why=why, schedule=describe(schedule) if schedule else None,
                prefect_ui=prefect_ui_url())


@router.get("/customers/{customer}/integrations/{name}")
def manager_page(request: Request, db: Db, customer: str, name: str, status: str = "", action: str = "",
                 within: str = "", before: int | None = None, after: int | None = None):
    """The header and the action logs: filtered by status, action and time, 25 a page (keyset paging)."""
    context = _context(request, db, customer, name, "logs")
    chosen = next((s for s in ActionStatus if s.value == status), None)
    since = utcnow() - WITHIN[within][1] if within in WITHIN else None
    where = LogFilter(integration=context["integration"], status=chosen, action=action.strip() or None,
                      since=since, limit=PAGE_SIZE + 1, before=before, after=after)
    rows = [log for log, _ in list_logs(db, where)]
    more = len(rows) > PAGE_SIZE  # one row past the page says whether there is a page beyond it
    if after is not None:
        logs = rows[-PAGE_SIZE:] if more else rows
        newer, older = more, True
    else:
        logs = rows[:PAGE_SIZE]
        newer, older = before is not None, more
    filters = {"status": chosen.value if chosen else "", "action": action.strip(), "within": within if since else ""}
    kept = {key: value for key, value in filters.items() if value}
    pages = {"newer": f"?{urlencode({**kept, 'after': logs[0].id})}" if newer and logs else None,
             "older": f"?{urlencode({**kept, 'before': logs[-1].id})}" if older and logs else None}
    return render(request, "manager.html", **context, logs=logs, filters=filters, pages=pages,
                  statuses=[s.value for s in ActionStatus], actions=list_actions(db, context["integration"]),
                  within=WITHIN, finished=_finished_values())


def _finished_values() -> list[str]:
    return [s.value for s in FINISHED | {ActionStatus.skipped}]


@router.get("/customers/{customer}/integrations/{name}/logs/{log_id}")
def log_page(request: Request, db: Db, customer: str, name: str, log_id: RowId):
    """A log's details: how it was triggered, its message, its counts, each attempt, its flow run."""
    context = _context(request, db, customer, name, "logs")
    log = get_log(db, log_id, context["integration"])
    counts = [(field.replace("_", " "), getattr(log, field)) for field in RunCounts.model_fields]
    return render(request, "manager_log.html", **context, log=log, counts=counts,
                  attempts=getattr(log, "past_attempts", None) or [], finished=_finished_values())


@router.get("/customers/{customer}/integrations/{name}/logs/{log_id}/status")
def log_status(db: Db, customer: str, name: str, log_id: RowId):
    """A log's status as JSON, for static/manager.js to follow a request without a reload."""
    log = get_log(db, log_id, find_integration(db, f"{customer}/{name}"))
    return JSONResponse({"id": log.id, "status": log.status.value, "message": log.message,
                         "updated": log.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
                         "finished": log.status in FINISHED or log.status == ActionStatus.skipped},
                        headers={"Cache-Control": "no-store"})


def _recent_requests(db: Session, integration: Integration, limit: int = 10) -> list[tuple[ActionRequest, ActionLog]]:
    return list(db.exec(select(ActionRequest, ActionLog).join(ActionLog, ActionLog.id == ActionRequest.log_id)
                        .where(ActionRequest.integration_id == integration.id)
                        .order_by(col(ActionRequest.id).desc()).limit(limit)))


def _requests_page(request: Request, db: Session, customer: str, name: str, status_code: int = 200,
                   problem: str | None = None, chosen: str = "", record: str = ""):
    context = _context(request, db, customer, name, "requests")
    actions: list[IntegrationAction] = list_actions(db, context["integration"])
    return render(request, "manager_requests.html", status_code, **context, actions=actions,
                  requests=_recent_requests(db, context["integration"]), problem=problem, chosen=chosen,
                  record=record, finished=_finished_values())


@router.get("/customers/{customer}/integrations/{name}/requests")
def requests_page(request: Request, db: Db, customer: str, name: str):
    return _requests_page(request, db, customer, name)


@router.post("/customers/{customer}/integrations/{name}/requests")
def request_page(request: Request, db: Db, background: BackgroundTasks, customer: str, name: str,
                 action: str = Form(""), record: str = Form("")):
    """Request an action: the Queued log at once; a hub-run action's flow starts right after, as the API's does."""
    from ihub.operations import start_request  # imports no Prefect until the run starts

    integration = find_integration(db, f"{customer}/{name}")
    try:
        requested = request_action(db, integration, action, record or None, via="console")
    except HubError as exc:
        return _requests_page(request, db, customer, name, 422, said(exc), action, record)
    if requested.action.flow is not None:
        background.add_task(start_request, requested.request.id)
        then = "its run starts now"
    else:
        then = "the integration picks it up through the API"
    of = f" of {requested.request.record_ref}" if requested.request.record_ref else ""
    return redirect(f"{_base(customer, name)}/requests",
                    f"Request #{requested.request.id} queued: {requested.action.name}{of} "
                    f"(action log #{requested.log.id}); {then}.", request)


@router.get("/customers/{customer}/integrations/{name}/connectivity")
def connectivity_page(request: Request, db: Db, customer: str, name: str):
    return render(request, "manager_connectivity.html", **_context(request, db, customer, name, "connectivity"),
                  key=None, problem=None)


@router.post("/customers/{customer}/integrations/{name}/connectivity")
def issue_key_page(request: Request, db: Db, customer: str, name: str, rotate: str = Form("")):
    """Generate or rotate the API key and show it on this answer only: it is stored as a digest, never shown again."""
    integration = find_integration(db, f"{customer}/{name}")
    key, problem = None, None
    try:
        key = issue_key(db, integration, rotate=rotate == "yes")
    except HubError as exc:
        problem = said(exc)
    context = _context(request, db, customer, name, "connectivity")
    return render(request, "manager_connectivity.html", 409 if problem else 200, **context, key=key,
                  problem=problem)


@router.get("/customers/{customer}/integrations/{name}/deployment")
def deployment_page(request: Request, db: Db, customer: str, name: str):
    """The integration's Prefect deployment in the Prefect UI (found by name; Prefect imported only here)."""
    context = _context(request, db, customer, name, "logs")
    ui, api = context["prefect_ui"], os.environ.get("PREFECT_API_URL")
    if context["integration"].spec is None:
        message = "This integration runs outside the hub: it has no Prefect deployment."
    elif not ui or not api:
        message = ("No Prefect UI is configured (set PREFECT_API_URL, or PREFECT_UI_URL, or start the hub with "
                   "`ihub up`), so there is no deployment to link to.")
    else:
        deployment_id = _deployment_id(f"{SYNC_FLOW}/{deployment_name(f'{customer}/{name}')}")
        if deployment_id is not None:
            return redirect(f"{ui}/deployments/deployment/{deployment_id}")
        message = (f"Prefect has no deployment {SYNC_FLOW}/{deployment_name(f'{customer}/{name}')} yet: "
                   "`ihub serve` (or `ihub up`) creates it for an Active integration.")
    return render(request, "error.html", 404, title="No deployment", message=message)


def _deployment_id(full_name: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return str(client.read_deployment_by_name(full_name).id)
        except ObjectNotFound:
            return None
