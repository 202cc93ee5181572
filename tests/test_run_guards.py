"""What guards a run, in process: consecutive failures disable an integration, pause its
deployment and e-mail its alert addresses; one integration never runs twice at once; Prefect
flow retries re-run the same flow run, with one action log; a skipped run counts for nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from sqlmodel import select

from flows.orchestration import lease_name
from ihub.vendor import Fault
from flows.sync import sync_integration
from models.config import Integration, IntegrationStatus
from models.engine import session
from models.logs import ActionLog, ActionStatus, RunLog
from tests.conftest import make_integration
from tests.test_alerts import inbox, save_plain_block, smtp_block  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def active(sqlite_url, vendor):
    from blocks import ApiTokenCredentials

    url, data = vendor
    integration = make_integration(url)
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    return change(integration.id, status=IntegrationStatus.active), data


def change(integration_id: int, **values) -> Integration:
    with session() as db:
        integration = db.get(Integration, integration_id)
        for name, value in values.items():
            setattr(integration, name, value)
        db.add(integration)
        db.commit()
        return integration


def logs(integration_id: int) -> list[ActionLog]:
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id)).all()


def test_the_threshold_of_failed_runs_disables_pauses_and_mails(active, inbox, smtp_block):  # noqa: F811
    import anyio

    from deployments.build import wanted_deployments

    integration, data = active
    mailbox, port = inbox
    save_plain_block(smtp_block, port)
    change(integration.id, error_threshold=2, alert_emails=["ops@acme.example"])
    with session() as db:
        (deployment,) = [w for w in wanted_deployments(db) if w.full_name == "sync-integration/acme:assets"]
    anyio.run(lambda: _apply(deployment))

    data.token = "rotated"
    assert sync_integration("acme/assets", return_state=True).is_failed()
    with session() as db:
        assert db.get(Integration, integration.id).status == IntegrationStatus.active  # one failure: not yet
    assert sync_integration("acme/assets", return_state=True).is_failed()

    with session() as db:
        found = db.get(Integration, integration.id)
    assert found.status == IntegrationStatus.disabled and found.consecutive_failures == 2
    assert "credentials rejected" in found.disabled_reason
    with get_client(sync_client=True) as client:
        assert client.read_deployment_by_name("sync-integration/acme:assets").paused
    ((_, recipients, message),) = mailbox.received
    assert recipients == ["ops@acme.example"]
    assert "acme/assets" in message["Subject"] and "2 failed runs" in message["Subject"]
    body = message.get_content()
    assert "credentials rejected" in body and "ihub integrations activate acme/assets" in body

    from models.integration_setup import activate

    with session() as db:
        activate(db, db.get(Integration, integration.id))
        found = db.get(Integration, integration.id)
    assert (found.status, found.consecutive_failures, found.disabled_reason) == (IntegrationStatus.active, 0, "")


async def _apply(wanted):
    return await (await wanted.runner_deployment()).aapply()


def test_a_success_resets_the_count_of_failures(active):
    integration, data = active
    change(integration.id, error_threshold=2)
    token, data.token = data.token, "rotated"
    assert sync_integration("acme/assets", return_state=True).is_failed()
    data.token = token
    assert sync_integration("acme/assets", return_state=True).is_completed()
    data.token = "rotated"
    assert sync_integration("acme/assets", return_state=True).is_failed()
    with session() as db:
        found = db.get(Integration, integration.id)
    assert (found.status, found.consecutive_failures) == (IntegrationStatus.active, 1)


def test_a_second_run_while_one_holds_the_integration_is_skipped_and_says_so(active, monkeypatch):
    integration, _ = active
    change(integration.id, error_threshold=1)
    monkeypatch.setenv("IHUB_CONCURRENT_RUN_WAIT_SECONDS", "0.5")
    sync_integration("acme/assets")  # creates the limit
    with concurrency(lease_name(integration.uid), occupy=1, strict=True):  # another worker's run holds it
        other = RunLog(integration.id, "Import Assets", "schedule", str(uuid4()))  # and is In Progress
        state = sync_integration("acme/assets", return_state=True)
        other.finish(ActionStatus.completed, "done")
    assert state.is_completed() and state.name == "Skipped"
    last = logs(integration.id)[-1]
    assert last.status.value == "Skipped" and "another run of acme/assets was in progress" in last.message
    with session() as db:  # a skipped run is no failure
        assert db.get(Integration, integration.id).status == IntegrationStatus.active
    assert sync_integration("acme/assets", return_state=True).is_completed()  # the lease was given back


def test_a_scheduled_run_of_an_integration_no_longer_active_is_skipped_and_says_so(active):
    from flows.orchestration import started_as

    integration, data = active
    for status in (IntegrationStatus.inactive, IntegrationStatus.disabled):
        change(integration.id, status=status)
        with started_as("schedule"):  # as a run its schedule started just before the deployment was paused
            state = sync_integration("acme/assets", return_state=True)
        assert state.is_completed() and state.name == "Skipped"
        last = logs(integration.id)[-1]
        assert (last.status.value, last.trigger.value, last.message) == (
            "Skipped", "schedule", f"skipped: acme/assets is {status.value} and its schedule runs only while Active")
    assert data.requests == 0  # the vendor was never asked
    with session() as db:  # a skipped run is no failure
        assert db.get(Integration, integration.id).consecutive_failures == 0
    state = sync_integration("acme/assets", return_state=True)  # by hand, it runs
    assert state.is_completed() and logs(integration.id)[-1].status.value == "Completed"


def test_flow_retries_rerun_the_same_flow_run_with_one_log(active):
    integration, data = active
    change(integration.id, flow_retries=1, flow_retry_delay_seconds=0)
    data.faults.extend([Fault(status=503) for _ in range(5)])  # the first attempt gives up after its HTTP retries
    spec_http = {"max_attempts": 5, "backoff_seconds": 0.01}
    with session() as db:
        found = db.get(Integration, integration.id)
        found.spec = {**found.spec, "http": {**found.spec.get("http", {}), **spec_http}}
        db.add(found)
        db.commit()
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_completed()
    (log,) = logs(integration.id)
    assert (log.status.value, log.attempt, log.trigger.value, log.fetched) == ("Completed", 2, "retry", 350)


def test_a_transient_database_fault_is_retried_by_the_task_and_a_bad_row_is_not(integration, monkeypatch):
    from prefect import flow
    from sqlalchemy.exc import IntegrityError, OperationalError

    import tasks.upsert as upsert
    from tasks.upsert import upsert_records

    calls = []
    real = upsert.get_engine

    def flaky(fault):
        def get_engine(*args):
            calls.append(fault)
            if len(calls) == 1:
                raise fault
            return real(*args)
        return get_engine

    @flow
    def write(rows):
        return upsert_records(rows, integration.id, "asset")

    rows = [{"sync_key": "k1", "name": "one"}]
    monkeypatch.setattr(upsert, "get_engine", flaky(OperationalError("SELECT", {}, Exception("database is locked"))))
    assert write(rows).inserted == 1 and len(calls) == 2

    calls.clear()
    monkeypatch.setattr(upsert, "get_engine", flaky(IntegrityError("INSERT", {}, Exception("constraint"))))
    assert write(rows, return_state=True).is_failed() and len(calls) == 1


def test_a_crashed_run_has_its_log_closed_as_failed_and_counted(active):
    from uuid import uuid4

    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Crashed

    from flows.hooks import count_outcome
    from models.logs import RunLog

    integration, _ = active
    flow_run_id = uuid4()
    RunLog(integration.id, "Import Assets", "schedule", str(flow_run_id))  # the run got this far, then was killed
    count_outcome(None, FlowRun(id=flow_run_id, name="acme/assets", flow_id=uuid4()),
                  Crashed(message="Flow run infrastructure exited with non-zero status code -9."))
    (log,) = logs(integration.id)
    assert log.status.value == "Failed" and "the run crashed (Flow run infrastructure exited" in log.message
    with session() as db:
        assert db.get(Integration, integration.id).consecutive_failures == 1
