"""What a run asks of Prefect's server: how it was started, how often to retry it, and a lease
so that one integration never runs twice at once, however many workers serve it.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder, FlowRunPolicy
from prefect.client.schemas.responses import ConcurrencyLimitWithLeaseResponse
from prefect.concurrency._leases import maintain_concurrency_lease
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectAlreadyExists

from models.errors import HubError
from models.logs import Trigger, running_log

logger = logging.getLogger("ihub.lease")

WAIT_ENV = "IHUB_CONCURRENT_RUN_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 10.0
LEASE_SECONDS = 300
"""A run that dies holding the lease frees it after this long unless it is reaped first (flows/reap.py)."""


_STARTED_AS: ContextVar[tuple[Trigger, int | None] | None] = ContextVar("ihub_started_as", default=None)


@contextmanager
def started_as(trigger: Trigger | str, log_id: int | None = None) -> Iterator[None]:
    """Flows called inside run as started by `trigger` (`ihub run --trigger`, an action request), and
    the one that writes an action log takes over the Queued log `log_id` an action request wrote.

    What the caller knows about a run, kept out of the flows' parameters: the Prefect UI offers a
    flow's parameters in its run dialog, and these are not for a person to set.
    """
    token = _STARTED_AS.set((Trigger(trigger), log_id))
    try:
        yield
    finally:
        _STARTED_AS.reset(token)


def resolve_trigger() -> Trigger:
    """How this run was started: a retry of the same flow run, what the caller said (`started_as`),
    or, for a deployment run nobody labelled, the schedule or the UI/API."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is not None and flow_run.run_count > 1:
        return Trigger.retry
    if (started := _STARTED_AS.get()) is not None:
        return started[0]
    if flow_run is not None and flow_run.deployment_id is not None:
        return Trigger.schedule if flow_run.auto_scheduled else Trigger.ui
    return Trigger.manual


def queued_log_id() -> int | None:
    """The Queued action log this run takes over, when an action request started it (`started_as`)."""
    started = _STARTED_AS.get()
    return started[1] if started else None


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


class LeaseNotGranted(HubError):
    """The run could not get its lease, and not because another run of the integration holds it."""


def lease_name(integration_uid: str) -> str:
    """Named by the integration's uid, not its row id: two hub databases may share one Prefect server."""
    return f"ihub-integration-{integration_uid}"


@contextmanager
def one_run_at_a_time(integration_id: int, integration_uid: str) -> Iterator[str]:
    """Hold the integration's Prefect concurrency slot (limit 1) for the whole run; yields the lease id.

    While the server answers that the slot is taken, a second run waits up to
    `IHUB_CONCURRENT_RUN_WAIT_SECONDS` (10 s by default), then raises `AlreadyRunning` (the
    caller logs it as skipped), but only if another run of the integration is In Progress.
    Otherwise, and when the server does not answer in time (the client retries a timed-out or
    503 request itself, `PREFECT_CLIENT_MAX_RETRIES` times), it raises `LeaseNotGranted`: a
    slow server is not another run. The lease is renewed while the run lives, and names the
    flow run holding it.
    """
    name = lease_name(integration_uid)
    context = FlowRunContext.get()
    holder = (ConcurrencyLeaseHolder(type="flow_run", id=context.flow_run.id)
              if context and context.flow_run else None)
    with get_client(sync_client=True) as client:
        lease_id = _acquire(client, name, holder, integration_id)
    try:
        with maintain_concurrency_lease(lease_id, LEASE_SECONDS, raise_on_lease_renewal_failure=False):
            yield str(lease_id)
    finally:
        release_lease(str(lease_id))


def release_lease(lease_id: str) -> None:
    """Give back a lease (the run's own, or a crashed run's), freeing its slot at once."""
    try:
        with get_client(sync_client=True) as client:
            client.release_concurrency_slots_with_lease(UUID(lease_id))
    except Exception as exc:  # the run's outcome stands; the slot frees itself when the lease ends
        logger.warning("could not give back the lease %s (%s): it frees itself within %s s",
                       lease_id, type(exc).__name__, LEASE_SECONDS)


def _acquire(client, name: str, holder: ConcurrencyLeaseHolder | None, integration_id: int) -> UUID:
    deadline = time.monotonic() + wait_seconds()
    while True:
        try:
            response = client.increment_concurrency_slots_with_lease(
                names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS, holder=holder)
            granted = ConcurrencyLimitWithLeaseResponse.model_validate(response.json())
            if granted.limits:
                return granted.lease_id
            # The integration's first run: the server leased no limit by that name; give back the empty
            # lease, make the limit, and ask again (asking first spares every later run a read of the limit).
            client.release_concurrency_slots_with_lease(granted.lease_id)
            _create_limit(client, name)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code < 500 and exc.response.status_code != 423:
                raise
            if exc.response.status_code != 423:
                raise _too_slow(name, f"it answered HTTP {exc.response.status_code}") from None
            remaining = deadline - time.monotonic()
            if remaining > 0:
                time.sleep(min(max(float(exc.response.headers.get("Retry-After", 1)), 0.1), remaining))
            elif running_log(integration_id) is not None:
                raise AlreadyRunning(name) from None
            else:
                raise LeaseNotGranted(
                    f"the lease {name} is taken, but no run of this integration is in progress: the Prefect server "
                    "may have granted an earlier request of this run after the client gave up waiting (a slow "
                    f"server), or a run that died before it wrote its log holds it; it frees itself within "
                    f"{LEASE_SECONDS} s") from None
        except httpx.TransportError as exc:  # timed out or unreachable, after the client's own retries
            raise _too_slow(name, type(exc).__name__) from None


def _too_slow(name: str, what: str) -> LeaseNotGranted:
    return LeaseNotGranted(f"the Prefect server was too slow to grant the run's lease {name} ({what}, after "
                           "retrying); nothing was fetched, the next run tries again")


def wait_seconds() -> float:
    try:
        return max(float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_SECONDS)), 0.1)
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def _create_limit(client, name: str) -> None:
    try:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    except ObjectAlreadyExists:  # another run of the integration made it first
        pass
