"""Reap runs that died without a word (`kill -9`, a lost machine): close their action log as
Failed, count it towards auto-disable, mark the flow run Crashed and give back the lease, so the
next run of the integration starts at once instead of being skipped until the lease runs out.

A run is dead when Prefect says its flow run is over (Crashed, Failed, ...), when its process is
gone from this host, or (another host) when its integration's heartbeat is a few intervals old;
see models/crashes.py. A run starting reaps its own integration; `ihub serve` and
`ihub deploy --watch` reap every integration on each poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed

from flows.hooks import count_failure
from flows.orchestration import release_lease
from models.crashes import OpenRun, close_crashed, crash_message, dead_by_the_database, open_runs

logger = logging.getLogger("ihub.reap")


@dataclass
class Reaped:
    log_id: int
    integration_id: int
    message: str


def reap_crashed(integration_id: int | None = None) -> list[Reaped]:
    """Reap the dead runs of one integration (all without it). Never raises: a reaper that cannot
    reach Prefect or the database leaves the logs for the next pass."""
    try:
        runs = open_runs(integration_id)
        if not runs:
            return []
        with get_client(sync_client=True) as client:
            return [reaped for run in runs if (reaped := _reap(client, run)) is not None]
    except Exception as exc:
        _logger().warning("could not reap crashed runs (%s: %s); the next pass tries again", type(exc).__name__, exc)
        return []


def _reap(client: SyncPrefectClient, run: OpenRun) -> Reaped | None:
    flow_run = _flow_run(client, run.flow_run_id)
    why = _over_in_prefect(flow_run) or dead_by_the_database(run)
    if why is None:
        return None
    message = crash_message(run, why)
    if not close_crashed(run.log_id, message):
        return None  # the run itself, its crash hook or another reaper closed it first
    if run.lease_id:
        release_lease(run.lease_id)
    count_failure(run.integration_id, message, _logger())
    if flow_run is not None and not flow_run.state.is_final() and not _is_current(run.flow_run_id):
        try:
            client.set_flow_run_state(flow_run.id, Crashed(message=message), force=True)
        except Exception as exc:  # the log is closed and the slot free: the state is only what the UI shows
            _logger().warning("could not mark flow run %s Crashed (%s)", flow_run.id, type(exc).__name__)
    _logger().warning("action log %s (flow run %s) %s", run.log_id, run.flow_run_id, message)
    return Reaped(run.log_id, run.integration_id, message)


def _flow_run(client: SyncPrefectClient, flow_run_id: str) -> FlowRun | None:
    """The flow run as Prefect has it; None when this server does not know it (judge by the database)."""
    try:
        return client.read_flow_run(UUID(flow_run_id))
    except (ObjectNotFound, ValueError):
        return None


def _over_in_prefect(flow_run: FlowRun | None) -> str | None:
    """A log still In Progress whose flow run Prefect has ended: the run died before closing it."""
    if flow_run is None or flow_run.state is None or not flow_run.state.is_final():
        return None
    said = f": {flow_run.state.message}" if flow_run.state.message else ""
    return f"its flow run is {flow_run.state.name} in Prefect{said}"


def _logger():
    """The run's logger when a starting run reaps (its page in the UI says so), the module's in `ihub serve`."""
    return get_run_logger() if FlowRunContext.get() else logger


def _is_current(flow_run_id: str) -> bool:
    """A retry of a crashed flow run reaps its own earlier attempt's log, but must not crash itself."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and str(context.flow_run.id) == flow_run_id)
