""""Run now" (seed 004: "You can run the schedule to test it"): the sync starts as the Integration
Manager's Action Requests start it, and its page follows the run: the status moves from Queued to
In Progress to Completed or Failed without a reload (static/manager.js polls the log's JSON route,
then reloads once to show the counts), or with a Refresh link without JavaScript.
"""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from ihub.api.deps import Db, RowId
from ihub.console import connector
from ihub.console.manager import prefect_ui_url
from ihub.console.pages import console_router, redirect, render, said
from models.actions import FINISHED, get_log, request_action
from models.config import ActionKind
from models.errors import HubError
from models.integrations import action_name, find_integration
from models.logs import ActionStatus, RunCounts

router = console_router()


@router.post("/customers/{customer}/integrations/{name}/connector/run")
def run_now(request: Request, db: Db, background: BackgroundTasks, customer: str, name: str):
    from ihub.operations import start_request  # imports no Prefect until the run starts

    integration = find_integration(db, f"{customer}/{name}")
    try:
        requested = request_action(db, integration, action_name(db, integration, ActionKind.import_), via="console")
    except HubError as exc:
        return connector.launch_page(request, db, customer, integration, 422, problem=said(exc))
    background.add_task(start_request, requested.request.id)
    return redirect(f"{connector.step_url(customer, name, 'launch')}/runs/{requested.log.id}",
                    f"{requested.action.name} of {name} started (action log #{requested.log.id}).", request)


@router.get("/customers/{customer}/integrations/{name}/connector/launch/runs/{log_id}")
def run_page(request: Request, db: Db, customer: str, name: str, log_id: RowId):
    integration = find_integration(db, f"{customer}/{name}")
    log = get_log(db, log_id, integration)
    base = connector.integration_base(customer, name)
    return render(request, "connector_run.html", **connector.frame(request, db, customer, integration, "launch"),
                  log=log, counts=[(field.replace("_", " "), getattr(log, field)) for field in RunCounts.model_fields],
                  finished=log.status in FINISHED or log.status == ActionStatus.skipped,
                  status_url=f"{base}/logs/{log.id}/status", log_url=f"{base}/logs/{log.id}",
                  prefect_ui=prefect_ui_url())
