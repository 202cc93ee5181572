"""Keep Prefect's deployments in step with the hub's database.

Each pass reads what the database wants, applies the deployments that are new or changed (an
integration activated, edited, deactivated or disabled changes or pauses its schedule),
deletes the sync deployments of integrations that no longer exist, and reaps crashed runs
(flows/reap.py), so a run killed on any worker frees its integration within one poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

import anyio
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags, FlowFilter, FlowFilterName
from prefect.deployments.runner import RunnerDeployment

from deployments.build import HUB_TAG, Wanted, wanted_deployments
from flows.reap import reap_crashed
from models.engine import session
from models.names import SYNC_FLOW


@dataclass
class Changes:
    applied: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reaped: list[str] = field(default_factory=list)
    """One line per crashed run whose log was closed."""

    def __bool__(self) -> bool:
        return bool(self.applied or self.removed or self.reaped)


@dataclass
class Reconciler:
    """`apply` registers one deployment: a Runner's `aadd_deployment`, or `aapply` on a work pool."""

    apply: Callable[[RunnerDeployment], Awaitable[object]]
    work_pool: str | None = None
    applied: dict[str, str] = field(default_factory=dict)
    """full name -> fingerprint of what was last applied."""

    async def run_once(self, client: PrefectClient | None = None) -> Changes:
        """One pass; `client`: a Prefect client to reuse (a new one costs ~25 ms of CPU and a call to the server)."""
        if client is None:
            async with get_client() as client:
                return await self.run_once(client)
        wanted = await anyio.to_thread.run_sync(_read_wanted)
        changes = Changes()
        for deployment in wanted:
            if self.applied.get(deployment.full_name) == deployment.fingerprint:
                continue
            await self.apply(await deployment.runner_deployment(self.work_pool))
            self.applied[deployment.full_name] = deployment.fingerprint
            changes.applied.append(deployment.full_name)
        changes.removed = await _remove_others(client, {d.full_name for d in wanted})
        for name in changes.removed:
            self.applied.pop(name, None)
        changes.reaped = [f"action log {reaped.log_id}: {reaped.message}"
                          for reaped in await anyio.to_thread.run_sync(reap_crashed)]
        return changes

    async def follow(self, poll_seconds: float | None, report: Callable[[Changes], None]) -> None:
        """Reconcile now, then every `poll_seconds` until cancelled (once, without it); report what changed."""
        async with get_client() as client:
            report(await self.run_once(client))
            while poll_seconds:
                await anyio.sleep(poll_seconds)
                changes = await self.run_once(client)
                if changes:
                    report(changes)


def _read_wanted() -> list[Wanted]:
    with session() as db:
        return wanted_deployments(db)


async def _remove_others(client: PrefectClient, keep: set[str]) -> list[str]:
    """Delete the hub's sync deployments that the database no longer has an integration for."""
    removed = []
    found = await client.read_deployments(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[SYNC_FLOW])),
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[HUB_TAG])))
    for deployment in found:
        full_name = f"{SYNC_FLOW}/{deployment.name}"
        if ":" in deployment.name and full_name not in keep:  # an integration's, not an on-demand one
            await client.delete_deployment(deployment.id)
            removed.append(full_name)
    return removed
