"""What happens once a run's final state is known (Prefect state hooks, so a run that Prefect
will retry is not counted until its last attempt): consecutive failures are counted, and an
integration that reaches its threshold is disabled, its deployment paused and its alert
addresses e-mailed (seed 002)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.logging.loggers import flow_run_logger
from sqlmodel import select

from flows.orchestration import release_lease
from models.crashes import close_crashed
from models.engine import session
from models.errors import HubError
from models.health import Disabled, record_failure, record_success
from models.logs import ActionLog, ActionStatus
from models.names import SYNC_FLOW, deployment_name


def count_outcome(flow, flow_run, state) -> None:
    """on_completion / on_failure / on_crashed hook: the run's own action log says what it was (a
    skipped run counts for nothing). A crashed run (its process killed) could not finish its log:
    the hook does, so the log never stays In Progress, counts it and gives back its lease, unless
    a reaper (flows/reap.py) closed it first."""
    logger = flow_run_logger(flow_run)
    with session() as db:
        log = db.exec(select(ActionLog).where(ActionLog.flow_run_id == str(flow_run.id))).first()
    if log is None:
        return
    if state.is_crashed():
        message = (f"the run crashed ({state.message or 'its process ended'}); the batches written are "
                   "kept, a retry picks up the rest")
        if log.status == ActionStatus.in_progress and close_crashed(log.id, message):
            count_failure(log.integration_id, message, logger)
            if log.lease_id:
                release_lease(log.lease_id)
        return
    if log.status == ActionStatus.completed:
        record_success(log.integration_id)
    elif log.status in (ActionStatus.failed, ActionStatus.incomplete):
        count_failure(log.integration_id, log.message, logger)


def count_failure(integration_id: int, message: str, logger) -> None:
    """Count a failed run towards auto-disable; disable, pause and alert when it reaches the threshold."""
    disabled = record_failure(integration_id, message)
    if disabled is not None:
        _disable(disabled, logger)


def _disable(disabled: Disabled, logger) -> None:
    logger.warning("%s is disabled after %s consecutive failed runs", disabled.ref, disabled.failures)
    try:
        pause_deployment(disabled.ref)
    except Exception as exc:  # the serving process pauses it too, from the database
        logger.warning("could not pause the deployment of %s: %s", disabled.ref, exc)
    if not disabled.alert_emails:
        logger.warning("%s has no alert e-mail addresses: nobody was told", disabled.ref)
        return
    from tasks.notify import disabled_alert, send_alert

    try:
        send_alert(disabled_alert(disabled.ref, disabled.customer, disabled.failures, disabled.threshold,
                                  disabled.last_error, disabled.alert_emails))
    except HubError as exc:
        logger.error("alert e-mail for %s not sent: %s", disabled.ref, exc)


def pause_deployment(ref: str) -> bool:
    """Pause the schedule of the integration's deployment, if it has one on this Prefect server."""
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"{SYNC_FLOW}/{deployment_name(ref)}")
        except ObjectNotFound:
            return False
        client.pause_deployment(deployment.id)
    return True
