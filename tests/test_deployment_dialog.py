"""The on-demand deployments as the Prefect UI shows them: named for what they do, and a Quick run /
Custom run dialog that offers only what a person should set, each with a title and a description;
and the line `ihub serve` prints for each run of them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.states import AwaitingRetry, Completed, Failed, Pending, Running
from prefect.utilities.callables import parameter_schema_from_entrypoint

from deployments.build import ON_DEMAND, on_demand_deployments

ROOT = Path(__file__).parents[1]

ASKED = {
    "sync-integration/sync-now": {"integration", "full_refresh"},
    "connect-endpoint/test-credentials": {"endpoint"},
    "run-action-request/perform-queued-request": {"request_id"},
    "export-record/push-to-vendor": {"integration", "record_ref"},
}


@pytest.mark.usefixtures("prefect_server")
def test_each_on_demand_deployment_is_named_for_what_it_does_and_asks_only_what_a_person_sets():
    async def apply_all():
        return [await (await wanted.runner_deployment()).aapply() for wanted in on_demand_deployments()]

    anyio.run(apply_all)
    with get_client(sync_client=True) as client:
        for full_name, asked in ASKED.items():
            deployment = client.read_deployment_by_name(full_name)
            properties = deployment.parameter_openapi_schema["properties"]
            assert set(properties) == asked, full_name  # never log_id, never trigger
            for name, field in properties.items():
                assert field["title"] == name and len(field["description"]) > 20, (full_name, name)
            assert deployment.description and "ihub" in deployment.tags
        schema = client.read_deployment_by_name("sync-integration/sync-now").parameter_openapi_schema
    assert schema["properties"]["integration"]["description"].startswith("The integration to sync, as customer/name")
    assert schema["required"] == ["integration"] and schema["properties"]["full_refresh"]["default"] is False


def test_prefect_yaml_names_the_deployments_as_serve_does_and_their_entrypoints_ask_the_same():
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    named = {deployment["entrypoint"]: deployment["name"] for deployment in deployments}
    assert sorted(named.values()) == sorted(ON_DEMAND.values())
    for entrypoint, name in named.items():
        (full_name,) = [full for full in ASKED if full.endswith(f"/{name}")]
        schema = parameter_schema_from_entrypoint(str(ROOT / entrypoint))  # as `prefect deploy` reads it
        assert set(schema.properties) == ASKED[full_name], entrypoint


@pytest.mark.usefixtures("prefect_server")
def test_serve_tells_a_line_when_each_attempt_of_a_served_run_starts_and_one_when_it_ends():
    from prefect.client.orchestration import get_client as get_async_client

    from deployments.serve import RunTeller, ensure_process_pool

    flow_name, pool = f"teller-{uuid.uuid4().hex[:8]}", f"pool-{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    teller = RunTeller(lines.append, datetime.now(timezone.utc))

    async def poll_once():
        async with get_async_client() as client:
            await teller.poll(client)

    def poll() -> list[str]:
        anyio.run(poll_once)
        told = lines[:]
        lines.clear()
        return told

    anyio.run(ensure_process_pool, pool)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow_name)
        served_here = client.create_deployment(flow_id, "acme:assets", tags=["ihub"])
        on_a_pool = client.create_deployment(flow_id, "elsewhere", tags=["ihub"], work_pool_name=pool)
        run = client.create_flow_run_from_deployment(served_here, state=Pending())
        other = client.create_flow_run_from_deployment(on_a_pool, state=Pending())
        client.set_flow_run_state(other.id, Running(), force=True)
        assert poll() == []  # nothing under way here yet; a worker's run is not this process's

        client.set_flow_run_state(run.id, Running(), force=True)
        (started,) = poll()
        assert started.startswith(f"▶ {flow_name}/acme:assets: started flow run ")
        assert started.endswith(f"({run.id}), attempt 1")
        assert poll() == []  # told once

        client.set_flow_run_state(run.id, Failed(message="credentials rejected by the vendor"), force=True)
        (ended,) = poll()
        assert ended.startswith("✗ ") and ": Failed" in ended and ended.endswith(": credentials rejected by the vendor")

        client.set_flow_run_state(run.id, AwaitingRetry(), force=True)  # the UI's Retry
        assert poll() == []
        client.set_flow_run_state(run.id, Running(), force=True)
        client.set_flow_run_state(run.id, Completed(), force=True)
        started, ended = poll()
        assert started.endswith(f"({run.id}), attempt 2") and ended.startswith("✓ ") and ": Completed" in ended


@pytest.mark.usefixtures("prefect_server")
def test_serve_reads_only_the_runs_under_way_and_just_ended_and_still_tells_a_later_retry(monkeypatch):
    """A serve that runs all day asks for what can still change, not for every run since it started."""
    from prefect.client.orchestration import get_client as get_async_client

    from deployments import serve

    monkeypatch.setattr(serve, "ENDED_MARGIN", timedelta(0))  # no run's end is committed late here
    lines: list[str] = []
    teller = serve.RunTeller(lines.append, datetime.now(timezone.utc))

    async def poll_once() -> int:
        async with get_async_client() as client:
            return await teller.poll(client)

    def poll() -> int:
        return anyio.run(poll_once)

    before = poll()  # runs still under way from earlier tests on this server
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(f"teller-{uuid.uuid4().hex[:8]}")
        deployment = client.create_deployment(flow_id, "acme:assets", tags=["ihub"])
        runs = [client.create_flow_run_from_deployment(deployment, state=Pending()) for _ in range(3)]
        for run in runs:
            client.set_flow_run_state(run.id, Running(), force=True)
        assert poll() == before + 3 and len(lines) == 3
        for run in runs:
            client.set_flow_run_state(run.id, Completed(), force=True)
        assert poll() == before + 3 and len(lines) == 6  # each end told
        assert poll() == before + 1  # the latest end only: the others cannot change unless they run again
        assert len(lines) == 6

        first = runs[0]
        client.set_flow_run_state(first.id, AwaitingRetry(), force=True)  # the UI's Retry, hours later
        client.set_flow_run_state(first.id, Running(), force=True)
        client.set_flow_run_state(first.id, Completed(), force=True)
        poll()
        started, ended = lines[6:]
        assert started.endswith(f"({first.id}), attempt 2") and ended.startswith("✓ ") and ": Completed" in ended
