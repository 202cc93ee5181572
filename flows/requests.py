"""Perform an action request (seed 003): the flow behind "Import Assets" or "Export Asset 42".

The request's Queued log was written when it was made; the flow that performs the action takes
that log over, so the operator follows one row from Queued to Completed or Failed.
"""

from __future__ import annotations

from prefect import flow, runtime

from models.config import Integration, IntegrationAction, utcnow
from models.engine import session
from models.errors import HubError
from models.integrations import integration_ref
from models.logs import ActionLog, ActionRequest, ActionStatus, Trigger
from models.names import SYNC_FLOW
from models.redact import redact


def _run_name() -> str:
    """`acme/assets: Export Asset 42 (request 7)` in the UI's run list."""
    request_id = runtime.flow_run.parameters.get("request_id")
    with session() as db:
        request = db.get(ActionRequest, request_id)
        if request is None:
            return f"request-{request_id}"
        action = db.get(IntegrationAction, request.action_id)
        ref = integration_ref(db, db.get(Integration, request.integration_id))
    record = f" {request.record_ref}" if request.record_ref else ""
    return f"{ref}: {action.name}{record} (request {request_id})"


@flow(name="run-action-request", flow_run_name=_run_name)
def run_action_request(request_id: int) -> None:
    with session() as db:
        request = db.get(ActionRequest, request_id)
        if request is None:
            raise HubError(f"no action request {request_id}")
        action = db.get(IntegrationAction, request.action_id)
        ref = integration_ref(db, db.get(Integration, request.integration_id))
    if action.flow == SYNC_FLOW:
        from flows.sync import sync_integration

        sync_integration(ref, trigger=Trigger.request, log_id=request.log_id)
    elif action.flow == "export-record":
        from flows.export import export_record

        export_record(ref, request.record_ref, trigger=Trigger.request, log_id=request.log_id)
    else:
        raise HubError(f"{action.name} of {ref} is performed by the integration itself: "
                       "it picks the request up through the API")


def fail_queued(request_id: int, message: str) -> None:
    """A request whose run never started must not stay Queued for ever."""
    with session() as db:
        request = db.get(ActionRequest, request_id)
        log = db.get(ActionLog, request.log_id) if request else None
        if log is not None and log.status == ActionStatus.queued:
            log.status, log.message, log.finished_at = ActionStatus.failed, redact(message), utcnow()
            log.updated_at = log.finished_at
            db.add(log)
            db.commit()
