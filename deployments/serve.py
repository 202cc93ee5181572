"""`ihub serve`: one process that serves every deployment and keeps them in step with the database."""

from __future__ import annotations

from typing import Callable

import anyio
from prefect.runner import Runner

from deployments.reconcile import Changes, Reconciler


async def serve(poll_seconds: float, report: Callable[[Changes], None], limit: int | None = None) -> None:
    """Run flow runs of the hub's deployments here (each in a subprocess, as Prefect's `serve`
    does) and re-read the database every `poll_seconds`; stops on SIGTERM or Ctrl+C."""
    runner = Runner(name="ihub-serve", limit=limit)
    async with anyio.create_task_group() as group:
        group.start_soon(runner.start)
        await Reconciler(apply=runner.aadd_deployment).follow(poll_seconds, report)


async def deploy(work_pool: str, poll_seconds: float | None, report: Callable[[Changes], None]) -> None:
    """Register the deployments on a work pool (a process pool is created if missing); with
    `poll_seconds`, keep them in step with the database until interrupted."""
    await ensure_process_pool(work_pool)

    async def apply(deployment):
        return await deployment.aapply(work_pool_name=work_pool)

    await Reconciler(apply=apply, work_pool=work_pool).follow(poll_seconds, report)


async def ensure_process_pool(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(name)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
