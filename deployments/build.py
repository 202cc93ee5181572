"""The deployments the hub asks Prefect for, read from the database.

One `sync-integration` deployment per hub-run integration, named `customer:integration`, with
the integration's schedule, paused unless the integration is Active; and one deployment of each
on-demand flow (connect an endpoint, run an action request, export a record) for the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from sqlmodel import Session, select

from models.config import Customer, Integration, IntegrationEndpoint, IntegrationStatus
from models.names import SYNC_FLOW, deployment_name
from models.schedules import describe, schedule_of

HUB_TAG = "ihub"
ON_DEMAND = {
    SYNC_FLOW: "sync-now",
    "connect-endpoint": "test-credentials",
    "run-action-request": "perform-queued-request",
    "export-record": "push-to-vendor",
}
"""The deployment of each on-demand flow, named for what it does: `sync-integration/sync-now`, …
(prefect.yaml names them the same)."""


@dataclass
class Wanted:
    """One deployment as the database wants it; `fingerprint` tells when it changed."""

    flow_name: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    @property
    def fingerprint(self) -> str:
        return json.dumps(self.kwargs, sort_keys=True, default=str)

    async def runner_deployment(self, work_pool: str | None = None) -> RunnerDeployment:
        from flows.connect import connect_endpoint
        from flows.export import export_record
        from flows.requests import run_action_request
        from flows.sync import sync_integration

        flow = {f.name: f for f in (sync_integration, connect_endpoint, run_action_request, export_record)}[
            self.flow_name]
        kwargs = {**self.kwargs}
        schedule = kwargs.pop("schedule", None)
        if schedule is not None:
            kwargs["schedules"] = [_prefect_schedule(schedule)]
        return await flow.ato_deployment(name=self.name, entrypoint_type=EntrypointType.MODULE_PATH,
                                        work_pool_name=work_pool, **kwargs)


def wanted_deployments(db: Session) -> list[Wanted]:
    rows = db.exec(select(Integration, Customer, IntegrationEndpoint)
                   .join(Customer, Integration.customer_id == Customer.id)
                   .join(IntegrationEndpoint, Integration.endpoint_id == IntegrationEndpoint.id)
                   .order_by(Customer.name, Integration.name)).all()
    wanted = [_sync_deployment(integration, customer, endpoint)
              for integration, customer, endpoint in rows if integration.spec is not None]
    return wanted + on_demand_deployments()


def _sync_deployment(integration: Integration, customer: Customer, endpoint: IntegrationEndpoint) -> Wanted:
    ref = f"{customer.name}/{integration.name}"
    spec = integration.spec
    schedule = schedule_of(integration)
    target = spec.get("target", {}).get("object", "asset")
    status = integration.status.value
    if integration.status == IntegrationStatus.disabled:
        status += f" after {integration.consecutive_failures} failed runs ({integration.disabled_reason})"
    description = (f"Sync {ref}: {spec.get('vendor', 'vendor')} {integration.data_type or target} records into "
                   f"the hub's {target} objects, {describe(schedule)}. Endpoint '{endpoint.name}'. "
                   f"Status: {status}; its schedule runs only while Active. "
                   f"Retries: {integration.flow_retries}.")
    return Wanted(SYNC_FLOW, deployment_name(ref), {
        "schedule": schedule,
        "paused": integration.status != IntegrationStatus.active,
        "parameters": {"integration": ref},
        "description": description,
        "tags": [HUB_TAG, f"customer:{customer.name}", f"partner:{endpoint.partner or 'custom'}",
                 f"object:{target}"],
    })


def on_demand_deployments() -> list[Wanted]:
    return [
        Wanted(SYNC_FLOW, ON_DEMAND[SYNC_FLOW], {
            "description": "Sync one integration now (parameter: customer/name), exactly as its schedule does.",
            "tags": [HUB_TAG], "paused": False}),
        Wanted("connect-endpoint", ON_DEMAND["connect-endpoint"], {
            "description": "Test a partner endpoint's saved credentials (parameter: customer/endpoint) and set "
                           "its status: Enabled and connected, or Failed with the partner's reason.",
            "tags": [HUB_TAG], "paused": False}),
        Wanted("run-action-request", ON_DEMAND["run-action-request"], {
            "description": "Perform a queued action request (parameter: its id), e.g. Import Assets or "
                           "Export Asset 42; its action log goes from Queued to Completed or Failed.",
            "tags": [HUB_TAG], "paused": False}),
        Wanted("export-record", ON_DEMAND["export-record"], {
            "description": "Push one hub record (parameters: customer/integration and the record's sync key) "
                           "to the vendor, with the mapping reversed.",
            "tags": [HUB_TAG], "paused": False}),
    ]


def _prefect_schedule(schedule: dict):
    if schedule.get("interval_seconds"):
        return IntervalSchedule(interval=timedelta(seconds=schedule["interval_seconds"]))
    return CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone") or "UTC")
