"""Operating the hub (seed 003): is every integration running as scheduled, and what did each run do,
as its action logs and Prefect tell it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from sqlmodel import col, select

from ihub.commands.common import console, hub
from models.config import Customer, Integration, utcnow
from models.customers import get_customer
from models.integrations import find_integration, integration_ref
from models.logs import ActionLog
from models.names import SYNC_FLOW, deployment_name

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun


def status(
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer's integrations."),
) -> None:
    """Every integration: status, schedule, last log update, last heartbeat and whether it has gone quiet."""
    from ihub.report import status_table

    with hub() as db:
        query = select(Integration, Customer.name).join(Customer).order_by(Customer.name, Integration.name)
        if customer:
            query = query.where(Integration.customer_id == get_customer(db, customer).id)
        rows = [(integration, f"{owner}/{integration.name}") for integration, owner in db.exec(query)]
    if not rows:
        console.print(f"{customer} has no integrations yet" if customer else "No integrations yet",
                      ": create one with `ihub integrations create CUSTOMER NAME --endpoint ENDPOINT ...`.", sep="")
        return
    console.print(status_table(rows, utcnow()))


def history(
    integration: str = typer.Argument(..., help="customer/name of the integration"),
    limit: int = typer.Option(20, min=1, max=200, help="How many of the newest runs to show."),
) -> None:
    """The integration's runs, newest first: each action log with its Prefect state, and the runs
    Prefect has that wrote no log yet (the next scheduled one, pending, crashed at start)."""
    from ihub.report import history_table

    with hub() as db:
        found = find_integration(db, integration)
        ref = integration_ref(db, found)
        logs = list(db.exec(select(ActionLog).where(ActionLog.integration_id == found.id)
                            .order_by(col(ActionLog.started_at).desc(), col(ActionLog.id).desc()).limit(limit)))
        try:
            with console.status("Reading the flow runs from Prefect"):
                runs = prefect_runs(ref, [log.flow_run_id for log in logs if log.flow_run_id], limit)
        except Exception as exc:  # whatever keeps Prefect from answering, the action logs still stand
            runs = {}
            console.print(f"[yellow]Prefect's run states could not be read ({type(exc).__name__}: "
                          f"{escape(' '.join(str(exc).split()))}); showing the action logs only.[/]")
        logged = set(db.exec(select(ActionLog.flow_run_id).where(
            ActionLog.integration_id == found.id, col(ActionLog.flow_run_id).in_(list(runs)))))
    rows = [(log, runs.get(log.flow_run_id)) for log in logs]
    rows += [(None, run) for run_id, run in runs.items() if run_id not in logged]
    if not rows:
        console.print(f"No runs of {ref} yet: `ihub run {ref}` runs it now.")
        return
    rows.sort(key=lambda row: _moment(*row), reverse=True)
    console.print(history_table(f"Runs of {ref}", rows[:limit]))


def _moment(log: ActionLog | None, run: FlowRun | None) -> datetime:
    return log.started_at if log else run.start_time or run.expected_start_time or run.created


def prefect_runs(ref: str, flow_run_ids: list[str], limit: int) -> dict[str, FlowRun]:
    """The flow runs behind these action logs, and the integration's newest sync runs.

    A sync run started here is named after the integration; one its deployment (`customer:name`)
    scheduled keeps a generated name until it starts, so those are found by deployment. Of the
    deployment's upcoming runs (Prefect schedules up to 100 ahead) only the next one is read.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterId,
        FlowRunFilterName,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    from ihub.embedded import use_own_session_server

    use_own_session_server()
    now = utcnow()
    sync = FlowFilter(name=FlowFilterName(any_=[SYNC_FLOW]))
    deployment = DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name(ref)]))
    past = FlowRunFilterExpectedStartTime(before_=now)
    newest = {"sort": FlowRunSort.EXPECTED_START_TIME_DESC, "limit": limit}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)))
        runs += client.read_flow_runs(flow_filter=sync, flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=[ref]), expected_start_time=past), **newest)
        runs += client.read_flow_runs(flow_filter=sync, deployment_filter=deployment,
                                      flow_run_filter=FlowRunFilter(expected_start_time=past), **newest)
        runs += client.read_flow_runs(
            flow_filter=sync, deployment_filter=deployment,
            flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=now)),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1)
    return {str(run.id): run for run in runs}
