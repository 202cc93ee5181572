"""What a person sees of a run in the Prefect UI (its log and state, read through the Prefect API as
the UI reads them), and what the hub keeps of a retried run, through the CLI and the REST API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
from sqlmodel import select
from typer.testing import CliRunner

from blocks import ApiTokenCredentials
from flows.sync import sync_integration
from ihub.vendor import Fault
from models.config import Integration
from models.engine import session
from models.logs import ActionLog, ActionStatus, Trigger
from tests.conftest import make_integration

pytestmark = pytest.mark.usefixtures("prefect_server")

FAST_HTTP = {"max_attempts": 2, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05}


def run_log_lines(state) -> list[tuple[str, str]]:
    """The flow run's log as the Prefect UI shows it: (level, message), task runs' lines included."""
    APILogHandler().flush()  # the run's lines are sent to the API in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    names = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
    return [(names[log.level], log.message) for log in sorted(logs, key=lambda log: log.timestamp)]


def flow_run(state):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def the_log(integration_id: int) -> ActionLog:
    with session() as db:
        (log,) = db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)).all()
        return log


@pytest.fixture
def demo(sqlite_url, vendor):
    url, data = vendor
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    return url, data


def test_a_successful_run_logs_its_start_each_batch_and_its_summary(demo):
    url, _ = demo
    make_integration(url, batch_records=200)
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_completed()
    lines = run_log_lines(state)
    infos = [message for level, message in lines if level == "INFO"]
    start = next(message for message in infos if message.startswith("Import Assets of acme/assets"))
    assert f"from Demo Asset Vendor: GET {url}/api/v1/assets, full" in start and "attempt 1 (manual)" in start
    batches = [message for message in infos if message.startswith("batch: ")]
    assert len(batches) == 2  # 350 records, batches of at least 200
    assert re.match(r"batch: 2 pages, 200 records: 200 inserted, 0 updated, 0 unchanged, 0 rejected; so far 200 "
                    r"records in 2 pages, \d+ records/s$", batches[0])
    assert "so far 350 records in 4 pages" in batches[1]
    assert any(message.startswith("completed in ") and "fetched 350 records in 4 pages: 350 inserted" in message
               for message in infos)
    assert not [line for line in lines if line[0] in ("WARNING", "ERROR")]


def test_a_vendor_out_of_reach_fails_the_run_with_its_reason_in_one_error_line_and_no_traceback(sqlite_url):
    integration = make_integration("http://127.0.0.1:9", http=FAST_HTTP)  # nothing listens there
    state = sync_integration("acme/assets", return_state=True)

    reason = "cannot reach Demo Asset Vendor at 127.0.0.1:9 (ConnectError) after 2 attempts"
    run = flow_run(state)
    assert run.state.is_failed() and run.state.message == reason  # what the UI shows beside "Failed"
    lines = run_log_lines(state)
    assert [message for level, message in lines if level == "ERROR"] == [reason]
    assert not [message for _, message in lines if "Traceback" in message]
    assert ("INFO", "GET /api/v1/assets: ConnectError, retrying in 0.0 s (attempt 2 of 2)") in lines
    assert the_log(integration.id).message == reason
    with session() as db:  # the on_failure hook still counted it towards auto-disable
        assert db.get(Integration, integration.id).consecutive_failures == 1
    with pytest.raises(Exception, match="cannot reach Demo Asset Vendor"):  # a caller still gets the error
        state.result()


def test_a_bug_keeps_its_traceback(demo, monkeypatch):
    url, _ = demo
    make_integration(url)
    import flows.sync

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(flows.sync, "_log_start", broken)
    state = sync_integration("acme/assets", return_state=True)
    assert state.is_failed()
    errors = [message for level, message in run_log_lines(state) if level == "ERROR"]
    assert any("Traceback" in message and "ZeroDivisionError: a bug" in message for message in errors)


def test_a_run_retried_by_prefect_keeps_each_attempt_and_says_so_everywhere(demo, monkeypatch):
    url, data = demo
    integration = make_integration(url, http=FAST_HTTP)
    with session() as db:
        row = db.get(Integration, integration.id)
        row.flow_retries, row.flow_retry_delay_seconds = 1, 0
        db.add(row)
        db.commit()
    data.faults += [Fault(503), Fault(503)]  # the first attempt gives up on the first page
    state = sync_integration("acme/assets", return_state=True)

    run = flow_run(state)
    assert run.state.is_completed() and run.run_count == 2
    lines = run_log_lines(state)
    assert ("INFO", "GET /api/v1/assets: HTTP 503, retrying in 0.0 s (attempt 2 of 2)") in lines
    first_failure = "Demo Asset Vendor answered HTTP 503 on /api/v1/assets after 2 attempts"
    errors = [message for level, message in lines if level == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith(f"attempt 1 failed: {first_failure}")
    assert not [message for _, message in lines if "Traceback" in message]

    log = the_log(integration.id)
    assert (log.status, log.attempt, log.trigger, log.first_trigger) == (
        ActionStatus.completed, 2, Trigger.retry, Trigger.manual)
    (first,) = log.past_attempts
    assert (first["number"], first["status"], first["trigger"]) == (1, "Failed", "manual")
    assert first["message"].startswith(first_failure) and first["finished_at"]
    history = f"attempt 1 Failed: {first['message']}; attempt 2 Completed: fetched 350 records"
    assert log.attempts_line().startswith(history)

    from ihub.cli import app
    from ihub.commands.common import console

    monkeypatch.setattr(console, "width", 400)  # the CLI's console is made once, wide enough for a message
    shown = CliRunner().invoke(app, ["log", str(log.id)])
    assert shown.exit_code == 0, shown.output
    assert "retry (first: manual)" in shown.output
    assert re.search(r"attempt 1 Failed: Demo Asset Vendor answered HTTP 503 .*\n.*attempt 2 Completed: fetched 350",
                     shown.output)

    listed = CliRunner().invoke(app, ["history", "acme/assets"])
    assert listed.exit_code == 0, listed.output
    assert "attempt 1 Failed: Demo Asset Vendor answered HTTP 503" in listed.output
    assert "attempt 2 Completed: fetched 350" in listed.output and "retry (first: manual)" in listed.output

    from tests.conftest import hub_app

    with TestClient(hub_app("admin-token-for-the-test")) as client:
        answer = client.get(f"/api/v1/logs/{log.id}", headers={"Authorization": "Bearer admin-token-for-the-test"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["trigger"], body["first_trigger"], body["attempt"]) == ("retry", "manual", 2)
    assert [(a["number"], a["status"], a["trigger"]) for a in body["attempts"]] == [
        (1, "Failed", "manual"), (2, "Completed", "retry")]
    assert body["history"].startswith(history)
