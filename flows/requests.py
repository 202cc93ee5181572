"""Perform an action request (seed 003): the flow behind "Import Assets" or "Export Asset 42".

The request's Queued log was written when it was made; the flow that performs the action takes
that log over, so the operator follows one row from Queued to Completed or Failed.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, runtime
from prefect.states import Failed, State

from flows.orchestration import started_as
from flows.outcome import NOT_PERSISTED, reported

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


@flow(name="run-action-request", flow_run_name=_run_name, **NOT_PERSISTED)
@reported
def run_action_request(request_id: int) -> State | None:
    """Perform a queued action request, e.g. Import Assets or Export Asset 42: its flow runs as a
    subflow and moves the request's action log from Queued to Completed or Failed.

    Args:
        request_id: The action request's number, as `ihub request` and the integration manager show it.
    """
    with session() as db:
        request = db.get(ActionRequest, request_id)
        if request is None:
            raise HubError(f"no action request {request_id}")
        action = db.get(IntegrationAction, request.action_id)
        ref = integration_ref(db, db.get(Integration, request.integration_id))
    if action.flow not in (SYNC_FLOW, "export-record"):
        raise HubError(f"{action.name} of {ref} is performed by the integration itself: "
                       "it picks the request up through the API")
    get_run_logger().info("request %s: %s%s of %s, action log #%s", request_id, action.name,
                          f" {request.record_ref}" if request.record_ref else "", ref, request.log_id)
    with started_as(Trigger.request, request.log_id):
        if action.flow == SYNC_FLOW:
            from flows.sync import sync_integration

            state = sync_integration(ref, return_state=True)
        else:
            from flows.export import export_record

            state = export_record(ref, request.record_ref, return_state=True)
    if state.is_failed() or state.is_crashed():  # the subflow's run log tells how; this run says what
        get_run_logger().error("%s of %s failed: %s", action.name, ref, state.message)
        return Failed(message=state.message)
    return None


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
