"""What a run asks of Prefect's server: how it was started, how often to retry it, and a lease
so that one integration never runs twice at once, however many workers serve it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder, FlowRunPolicy
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from models.logs import Trigger

WAIT_ENV = "IHUB_CONCURRENT_RUN_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 10.0
LEASE_SECONDS = 300
"""A run that dies holding the lease frees it after this long; Prefect renews it while the run lives."""


def resolve_trigger(asked: Trigger | str | None) -> Trigger:
    """How this run was started: a retry of the same flow run, what the caller said, or, for a
    deployment run nobody labelled, the schedule or the UI/API."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is not None and flow_run.run_count > 1:
        return Trigger.retry
    if asked is not None:
        return Trigger(asked)
    if flow_run is not None and flow_run.deployment_id is not None:
        return Trigger.schedule if flow_run.auto_scheduled else Trigger.ui
    return Trigger.manual


def apply_retry_policy(retries: int, delay_seconds: int) -> None:
    """Make Prefect re-run this flow run by itself `retries` times after a failure.

    The server decides on a retry from the run's own policy, so setting it here works for every
    deployment of the one `sync-integration` flow, each with its integration's setting.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    policy = context.flow_run.empirical_policy
    if policy.retries == retries and policy.retry_delay == delay_seconds:
        return
    updated = FlowRunPolicy(**{**policy.model_dump(), "retries": retries, "retry_delay": delay_seconds})
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, empirical_policy=updated)
    context.flow_run.empirical_policy = updated


class AlreadyRunning(Exception):
    """Another run of the same integration holds its lease."""


def lease_name(integration_id: int) -> str:
    return f"ihub-integration-{integration_id}"


@contextmanager
def one_run_at_a_time(integration_id: int) -> Iterator[None]:
    """Hold the integration's Prefect concurrency slot (limit 1) for the whole run.

    A second run waits up to `IHUB_CONCURRENT_RUN_WAIT_SECONDS` (10 s by default), then raises
    `AlreadyRunning`; the caller logs it as skipped.
    """
    name = lease_name(integration_id)
    _ensure_limit(name)
    context = FlowRunContext.get()
    holder = (ConcurrencyLeaseHolder(type="flow_run", id=context.flow_run.id)
              if context and context.flow_run else None)
    acquired = False
    try:
        with concurrency(name, occupy=1, timeout_seconds=wait_seconds(), lease_duration=LEASE_SECONDS,
                         strict=True, holder=holder, raise_on_lease_renewal_failure=False):
            acquired = True
            yield
    except TimeoutError:
        if acquired:  # the run's own time-out, not the wait for the slot
            raise
        raise AlreadyRunning(name) from None


def wait_seconds() -> float:
    try:
        return max(float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_SECONDS)), 0.1)
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def _ensure_limit(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:
                pass
