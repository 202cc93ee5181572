"""Export one hub record to its vendor (seed 003's "Export Asset"): the mapping run backwards.

The action log row names the record (its sync key) and ends Completed with the vendor's answer,
or Failed with the reason: the integration cannot send data now, its spec has no export, the
record is not in the hub, or the vendor refused it.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, runtime
from prefect.states import State
from sqlmodel import Session

from flows.orchestration import queued_log_id, resolve_trigger
from flows.outcome import NOT_PERSISTED, failure_message, reported
from flows.sync import flow_run_id
from models.config import ActionKind
from models.engine import session
from models.errors import HubError, NotFound
from models.integrations import action_name, find_integration, runnable_spec
from models.logs import ActionStatus, RunLog
from models.redact import redact
from models.spec import ConnectorSpec
from models.targets import EXTERNAL_ID, TABLES
from tasks.authenticate import authenticate
from tasks.export import export_path, not_sent, push_record, vendor_body


@flow(name="export-record", flow_run_name="{integration}:{record_ref}", **NOT_PERSISTED)
@reported
def export_record(integration: str, record_ref: str) -> str | State:
    """Push one hub record to the integration's vendor, with the mapping reversed.

    Returns the action log's message. An action request's run takes over its Queued log (`started_as`).

    Args:
        integration: The integration whose spec has an export section, as customer/name (e.g. acme/people).
        record_ref: The hub record's sync key (its primary key in the mapping), e.g. 42.
    """
    trigger, log_id, attempt = resolve_trigger(), queued_log_id(), runtime.flow_run.run_count or 1
    with session() as db:
        found = find_integration(db, integration)
        try:
            spec = runnable_spec(db, found)
        except HubError as exc:  # not runnable: say why in the log, at once
            action = action_name(db, found, ActionKind.export)  # from what is known: the spec cannot be used
            RunLog(found.id, action, trigger, flow_run_id(), log_id, record_ref, attempt).finish(
                ActionStatus.failed, str(exc))
            raise
        record = _hub_record(db, spec, found.id, record_ref)
    run_log = RunLog(found.id, spec.export_action or "Export", trigger, flow_run_id(), log_id, record_ref, attempt)
    get_run_logger().info("%s %s of %s to %s; action log #%s (%s)", run_log.log.action, record_ref, integration,
                          spec.vendor, run_log.log.id, run_log.log.trigger.value)
    try:
        if spec.export is None:
            raise HubError(f"{integration} has no export action: its connector spec has no export section")
        if record is None:
            raise NotFound(f"no {_object_name(spec)} '{record_ref}' in {integration}")
        path = export_path(spec, record_ref, record)
        status, answer = push_record(spec, authenticate(spec.auth), vendor_body(spec, record), path)
    except Exception as exc:
        run_log.finish(ActionStatus.failed, failure_message(exc))
        raise
    shown = "/" + path.lstrip("/").partition("?")[0]  # never a query string
    message = redact(f"{spec.export.method} {shown}: HTTP {status} {answer}".rstrip())
    if skipped := not_sent(spec):
        message += "; not sent back: " + ", ".join(f"{name} ({why})" for name, why in skipped.items())
    run_log.finish(ActionStatus.completed, message)
    get_run_logger().info("completed: %s", message)
    return message


def _hub_record(db: Session, spec: ConnectorSpec, integration_id: int, sync_key: str) -> dict[str, Any] | None:
    """The stored record's target fields; `external_id` is the sync key when the spec keys on it."""
    row = db.get(TABLES[spec.target.object], (integration_id, sync_key))
    if row is None:
        return None
    if spec.target.object == "custom":
        fields = dict(row.data)
    else:
        fields = {name: getattr(row, name) for name in spec.mapping if name != EXTERNAL_ID}
    if spec.sync_key == EXTERNAL_ID:
        fields[EXTERNAL_ID] = row.sync_key
    return fields


def _object_name(spec: ConnectorSpec) -> str:
    return spec.target.custom_type if spec.target.object == "custom" else spec.target.object
