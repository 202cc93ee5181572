"""`ihub serve`: one process that serves every deployment and keeps them in step with the database."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from typing import Callable
from uuid import UUID

import anyio
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterTags, FlowRunFilter,
                                            FlowRunFilterEndTime, FlowRunFilterState, FlowRunFilterStateType,
                                            Operator)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.runner import Runner

from deployments.build import HUB_TAG
from deployments.reconcile import Changes, Reconciler

RUNS_POLL_SECONDS = 2.0
ENDED_MARGIN = timedelta(seconds=60)
"""How far back before the latest end it has seen each poll still looks for runs that ended: the Prefect
server stamps the ends, and a run's end may be committed after a later one's."""


async def serve(poll_seconds: float, report: Callable[[Changes], None], limit: int | None = None,
                tell: Callable[[str], None] = print) -> None:
    """Run flow runs of the hub's deployments here (each in a subprocess, as Prefect's `serve`
    does), re-read the database every `poll_seconds` and `tell` a line for each run started here
    and how it ended. SIGTERM and Ctrl+C stop the runner the way it stops itself: the runs' slots
    are given back and every deployment's schedule is paused, until `serve` starts again."""
    # The runner's own pausing on shutdown stops at the first deployment deleted meanwhile (an integration
    # removed): the schedules are paused here instead, from what the reconciler applied.
    runner = Runner(name="ihub-serve", limit=limit, pause_on_shutdown=False)
    reconciler = Reconciler(apply=runner.aadd_deployment)
    runner_done = anyio.Event()

    async def run_runner() -> None:
        try:
            await runner.start()
        finally:
            runner_done.set()

    async with anyio.create_task_group() as group:
        following = anyio.CancelScope()
        group.start_soon(run_runner)
        # Started after the runner, whose start() sets a SIGTERM handler of its own: it calls the async
        # `stop()` from inside the event loop (a coroutine never awaited) and exits before pausing.
        group.start_soon(_stop_on_signal, runner, runner_done, reconciler, following, group.cancel_scope)
        group.start_soon(_tell_runs, tell, datetime.now(timezone.utc))
        with following:
            await reconciler.follow(poll_seconds, report)


async def _stop_on_signal(runner: Runner, runner_done: anyio.Event, reconciler: Reconciler,
                          following: anyio.CancelScope, everything: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            following.cancel()  # no deployment applied (and so resumed) after this
            if runner.started:
                await runner.astop()  # no new runs; the ones in flight are cancelled and their slots given back
                await runner_done.wait()
            await pause_deployments(list(reconciler.applied))
            everything.cancel()
            return


async def pause_deployments(full_names: list[str]) -> None:
    """Pause these deployments (their schedules), skipping any deleted meanwhile."""
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        for full_name in full_names:
            try:
                await client.pause_deployment((await client.read_deployment_by_name(full_name)).id)
            except ObjectNotFound:
                continue


async def _tell_runs(tell: Callable[[str], None], since: datetime) -> None:
    teller = RunTeller(tell, since)
    async with get_client() as client:
        while True:
            try:
                await teller.poll(client)
            except Exception:  # the server is busy or restarting: the next poll catches up
                pass
            await anyio.sleep(RUNS_POLL_SECONDS)


class RunTeller:
    """One line when an attempt of a served deployment's run starts, one when it ends: the runs of
    the hub's deployments (tag `ihub`) that no work pool runs, started since `since`."""

    def __init__(self, tell: Callable[[str], None], since: datetime):
        self.tell, self.since = tell, since
        self.ended_after = since
        """Each poll reads the runs under way and those that ended after this, not every run since `since`
        (which grows all day): it moves up to `ENDED_MARGIN` before the latest end seen."""
        self.told: dict[UUID, tuple[int, bool]] = {}
        """flow run id -> (the attempt told, whether its end was told), for the runs of the last poll
        and those waiting for their next attempt"""
        self.names: dict[UUID, str] = {}
        """deployment id -> flow/deployment"""

    async def poll(self, client) -> int:
        """Tell what started and ended since the last poll; how many runs it read."""
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[HUB_TAG])),
            flow_run_filter=FlowRunFilter(
                operator=Operator.or_, state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                end_time=FlowRunFilterEndTime(after_=self.ended_after)),
            sort=FlowRunSort.START_TIME_ASC)
        for run in runs:
            if (run.work_pool_name or run.state is None or run.start_time is None or run.start_time < self.since
                    or not (run.state.is_running() or run.state.is_final())):
                continue  # a worker's run, one from before this process, or one not (yet, or again) under way
            attempt, ended = self.told.get(run.id, (0, False))
            if run.run_count > attempt:
                if run.deployment_id not in self.names:
                    self.names[run.deployment_id] = await _deployment_name(client, run.deployment_id)
                self.tell(f"▶ {self.names[run.deployment_id]}: started flow run {run.name} ({run.id}), "
                          f"attempt {run.run_count}")
                attempt, ended = run.run_count, False
            if run.state.is_final() and not ended:
                self.tell(outcome_line(run))
                ended = True
            self.told[run.id] = (attempt, ended)
        read = {run.id for run in runs}
        self.told = {run_id: told for run_id, told in self.told.items() if run_id in read or not told[1]}
        ends = [run.end_time for run in runs if run.end_time is not None and run.state and run.state.is_final()]
        if ends:
            self.ended_after = max(self.ended_after, max(ends) - ENDED_MARGIN)
        return len(runs)


async def _deployment_name(client, deployment_id: UUID) -> str:
    deployment = await client.read_deployment(deployment_id)
    flow = await client.read_flow(deployment.flow_id)
    return f"{flow.name}/{deployment.name}"


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
