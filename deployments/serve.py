"""`ihub serve`: one process that serves every deployment and keeps them in step with the database."""

from __future__ import annotations

import signal
from datetime import datetime, timezone
from typing import Callable
from uuid import UUID

import anyio
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterTags, FlowRunFilter,
                                            FlowRunFilterStartTime)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.runner import Runner

from deployments.build import HUB_TAG
from deployments.reconcile import Changes, Reconciler

RUNS_POLL_SECONDS = 2.0


async def serve(poll_seconds: float, report: Callable[[Changes], None], limit: int | None = None,
                tell: Callable[[str], None] = print) -> None:
    """Run flow runs of the hub's deployments here (each in a subprocess, as Prefect's `serve`
    does), re-read the database every `poll_seconds` and `tell` a line for each run started here
    and how it ended. SIGTERM and Ctrl+C stop the runner the way it stops itself: the runs' slots
    are given back and every deployment's schedule is paused, until `serve` starts again."""
    runner = Runner(name="ihub-serve", limit=limit)
    runner_done = anyio.Event()

    async def run_runner() -> None:
        try:
            await runner.start()
        finally:
            runner_done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(run_runner)
        # Started after the runner, whose start() sets a SIGTERM handler of its own: it calls the async
        # `stop()` from inside the event loop (a coroutine never awaited) and exits before pausing.
        group.start_soon(_stop_on_signal, runner, runner_done, group.cancel_scope)
        group.start_soon(_tell_runs, tell, datetime.now(timezone.utc))
        await Reconciler(apply=runner.aadd_deployment).follow(poll_seconds, report)


async def _stop_on_signal(runner: Runner, runner_done: anyio.Event, everything: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            if runner.started:
                await runner.astop()  # ends runner.start(), which pauses the schedules on its way out
                await runner_done.wait()
            everything.cancel()
            return


async def _tell_runs(tell: Callable[[str], None], since: datetime) -> None:
    """One line when a run of a served deployment starts, one when it ends."""
    told: dict[UUID, bool] = {}  # flow run id -> its end was told
    async with get_client() as client:
        while True:
            try:
                runs = await client.read_flow_runs(
                    deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[HUB_TAG])),
                    flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)),
                    sort=FlowRunSort.START_TIME_DESC, limit=200)
            except Exception:  # the server is busy or restarting: the next poll catches up
                runs = []
            for run in reversed(runs):
                if run.work_pool_name or run.state is None:
                    continue  # a worker's run
                if run.state.is_scheduled():  # awaiting a retry: its next attempt is told anew
                    told.pop(run.id, None)
                    continue
                if run.id not in told:
                    tell(f"▶ {run.name}: started (flow run {str(run.id)[:8]}, attempt {run.run_count or 1})")
                    told[run.id] = False
                if run.state.is_final() and not told[run.id]:
                    tell(outcome_line(run))
                    told[run.id] = True
            await anyio.sleep(RUNS_POLL_SECONDS)


def outcome_line(run: FlowRun) -> str:
    mark = "✓" if run.state.is_completed() else "✗"
    took = f" in {run.total_run_time.total_seconds():.1f} s" if run.total_run_time else ""
    message = f": {run.state.message}" if run.state.message else ""
    return f"{mark} {run.name}: {run.state.name}{took}{message}"


async def deploy(work_pool: str, poll_seconds: float | None, report: Callable[[Changes], None]) -> None:
    """Register the deployments on a work pool (a process pool is created if missing); with
    `poll_seconds`, keep them in step with the database until interrupted."""
    await ensure_process_pool(work_pool)

    async def apply(deployment):
        return await deployment.aapply(work_pool_name=work_pool)

    await Reconciler(apply=apply, work_pool=work_pool).follow(poll_seconds, report)


async def ensure_process_pool(name: str) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(name)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
