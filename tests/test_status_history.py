"""`ihub status` (schedules, heartbeats, staleness) and `ihub history` (action logs with Prefect's flow runs)."""

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import typer
from prefect import flow
from prefect.states import AwaitingRetry, Completed, Crashed, Failed, Pending, Running, Scheduled
from sqlmodel import select
from typer.testing import CliRunner

from ihub.commands import operations
from ihub.commands.common import console
from ihub.demo import demo_spec
from models.config import Integration, IntegrationStatus, utcnow
from models.engine import session
from models.integration_setup import create_integration
from models.integrations import onboard
from models.logs import ActionLog, ActionStatus, Trigger
from models.schedules import describe, expected_interval, heartbeat_state, schedule_of
from tests.conftest import make_integration

cli = typer.Typer()
cli.command()(operations.status)
cli.command()(operations.history)
runner = CliRunner()


def invoke(*args: str, exit_code: int = 0) -> str:
    console.width = 250
    result = runner.invoke(cli, list(args))
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    return result.output


def row(output: str, *marks: str) -> str:
    """The one table line holding every mark."""
    lines = [line for line in output.splitlines() if all(mark in line for mark in marks)]
    assert len(lines) == 1, f"{len(lines)} lines hold {marks}:\n{output}"
    return lines[0]


_RUN_STARTS = re.compile(r"^\d\d-\d\d \d\d:\d\d ")


def history_rows(output: str) -> list[str]:
    """The rows of `ihub history`, each with its lines (a cell holds the flow run's id under its start)."""
    rows: list[str] = []
    for line in output.splitlines():
        if _RUN_STARTS.match(line):
            rows.append(line)
        elif rows and line.strip():
            rows[-1] += "\n" + line
    return rows


def run_row(output: str, mark: str, *marks: str) -> str:
    """The one history row holding `mark`, after checking it holds the other marks too."""
    found = [text for text in history_rows(output) if mark in text]
    assert len(found) == 1, f"{len(found)} rows hold {mark}:\n{output}"
    missing = [other for other in marks if other not in found[0]]
    assert not missing, f"the row of {mark} lacks {missing}:\n{found[0]}"
    return found[0]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


DAILY, FIVE_MINUTES = {"cron": "0 2 * * *", "timezone": "UTC"}, {"cron": "*/5 * * * *", "timezone": "UTC"}


@pytest.mark.parametrize("schedule, now, interval", [
    (DAILY, "2026-11-23 16:00", timedelta(days=1)),
    (FIVE_MINUTES, "2026-11-23 16:02", timedelta(minutes=5)),
    ({"cron": "0 9 * * 1-5", "timezone": "UTC"}, "2026-11-21 12:00", timedelta(days=3)),  # a Saturday
    ({"cron": "0 9 * * 1-5", "timezone": "UTC"}, "2026-11-24 12:00", timedelta(days=1)),  # a Tuesday
    ({"cron": "0 2 * * *", "timezone": "Europe/Paris"}, "2026-10-25 12:00", timedelta(hours=25)),  # clocks go back
    ({**DAILY, "interval_seconds": 90}, "2026-11-23 16:00", timedelta(seconds=90)),  # the interval wins
])
def test_expected_interval_is_the_gap_between_the_firings_around_now(schedule, now, interval):
    assert expected_interval(schedule, at(now)) == interval


def hub_run(schedule=None, status=IntegrationStatus.active, heartbeat=None, created="2026-11-01 00:00",
            external=False) -> Integration:
    spec = None if external else {"vendor": "x", **({"schedule": schedule} if schedule else {})}
    return Integration(customer_id=1, endpoint_id=1, name="x", spec=spec, status=status, created_at=at(created),
                       last_heartbeat_at=at(heartbeat) if heartbeat else None)


def test_schedule_of_fills_the_defaults_and_has_none_for_an_external_integration():
    assert schedule_of(hub_run()) == DAILY
    assert schedule_of(hub_run({"cron": "*/5 * * * *"})) == FIVE_MINUTES
    assert schedule_of(hub_run(external=True)) is None
    assert describe(DAILY) == "0 2 * * * (UTC)" and describe({**DAILY, "interval_seconds": 30}) == "every 30 s"


@pytest.mark.parametrize("integration, now, stale, why", [
    (hub_run(heartbeat="2026-11-23 02:00:30"), "2026-11-24 02:14", False, "next run due 2026-11-24 02:00 UTC"),
    (hub_run(heartbeat="2026-11-23 02:00:30"), "2026-11-24 02:16", True,
     "no heartbeat from the run due 2026-11-24 02:00 UTC"),
    # a five-minute schedule gets five minutes of grace, not fifteen
    (hub_run(FIVE_MINUTES, heartbeat="2026-11-23 10:00:01"), "2026-11-23 10:09:59", False, "10:05 UTC"),
    (hub_run(FIVE_MINUTES, heartbeat="2026-11-23 10:00:01"), "2026-11-23 10:10:01", True, "10:05 UTC"),
    (hub_run({"interval_seconds": 60}, heartbeat="2026-11-23 10:00:00"), "2026-11-23 10:01:59", False, "10:01 UTC"),
    (hub_run({"interval_seconds": 60}, heartbeat="2026-11-23 10:00:00"), "2026-11-23 10:02:01", True, "10:01 UTC"),
    # weekdays at 9: quiet over the weekend is expected, not on Monday morning
    (hub_run({"cron": "0 9 * * 1-5"}, heartbeat="2026-11-20 09:00:10"), "2026-11-23 08:00", False, "11-23 09:00"),
    (hub_run({"cron": "0 9 * * 1-5"}, heartbeat="2026-11-20 09:00:10"), "2026-11-23 09:20", True, "11-23 09:00"),
    # 02:00 in Paris is 01:00 UTC in November
    (hub_run({"cron": "0 2 * * *", "timezone": "Europe/Paris"}, heartbeat="2026-11-23 01:00:30"),
     "2026-11-24 01:10", False, "2026-11-24 02:00 Europe/Paris"),
    (hub_run({"cron": "0 2 * * *", "timezone": "Europe/Paris"}, heartbeat="2026-11-23 01:00:30"),
     "2026-11-24 01:20", True, "2026-11-24 02:00 Europe/Paris"),
    # never ran: counted from its creation
    (hub_run(created="2026-11-23 10:00"), "2026-11-23 20:00", False, "next run due 2026-11-24 02:00 UTC"),
    (hub_run(created="2026-11-23 10:00"), "2026-11-24 02:20", True, "the run due 2026-11-24 02:00 UTC"),
    (hub_run(external=True, heartbeat="2026-11-22 13:00"), "2026-11-23 12:00", False, "heartbeat within 24 h"),
    (hub_run(external=True, heartbeat="2026-11-22 11:00"), "2026-11-23 12:00", True, "no heartbeat for over 24 h"),
    (hub_run(external=True, created="2026-11-20 00:00"), "2026-11-23 12:00", True, "no heartbeat for over 24 h"),
    (hub_run(status=IntegrationStatus.inactive, heartbeat="2026-01-01 00:00"), "2026-11-23 12:00", None,
     "Inactive: not scheduled"),
    (hub_run(status=IntegrationStatus.disabled), "2026-11-23 12:00", None, "Disabled: not scheduled"),
])
def test_heartbeat_state(integration, now, stale, why):
    found_stale, found_why = heartbeat_state(integration, at(now))
    assert found_stale is stale and why in found_why


def test_status_shows_every_integration_its_schedule_heartbeat_and_staleness(db_url):
    now = utcnow()
    changes = {
        "fresh": dict(status=IntegrationStatus.active, last_heartbeat_at=now - timedelta(minutes=1)),
        "quiet": dict(status=IntegrationStatus.active, last_heartbeat_at=now - timedelta(days=3),
                      last_log_update_at=now - timedelta(days=3)),
        "idle": {},
        "broken": dict(status=IntegrationStatus.disabled, consecutive_failures=5, error_threshold=5,
                       disabled_reason="HTTP 401 from the vendor"),
    }
    for name in changes:
        every = {"interval_seconds": 60} if name == "idle" else {}
        make_integration(name=name, schedule={"cron": "*/30 * * * *", "timezone": "Europe/Paris", **every})
    with session() as db:
        create_integration(db, "acme", "customsoft", "vendor", external=True)
        for integration in db.exec(select(Integration)):
            for field, value in changes.get(integration.name, {}).items():
                setattr(integration, field, value)
            db.add(integration)
        db.commit()

    out = invoke("status")
    assert cells(row(out, "acme/fresh")) == ["acme/fresh", "Active", "*/30 * * * * (Europe/Paris)", "never",
                                             (now - timedelta(minutes=1)).astimezone().strftime("%m-%d %H:%M"), "no"]
    quiet = cells(row(out, "acme/quiet"))
    three_days_ago = (now - timedelta(days=3)).astimezone().strftime("%m-%d %H:%M")
    assert quiet[1] == "Active" and quiet[3] == quiet[4] == three_days_ago
    assert quiet[5].startswith("yes: no heartbeat from the run due") and quiet[5].endswith("Europe/Paris")
    assert cells(row(out, "acme/idle")) == ["acme/idle", "Inactive", "every 60 s", "never", "never", "—"]
    broken = cells(row(out, "acme/broken"))
    assert broken[1] == "Disabled after 5/5 failed runs: HTTP 401 from the vendor" and broken[5] == "—"
    assert cells(row(out, "acme/customsoft"))[1:3] == ["Inactive", "—"]  # built outside the hub: no schedule here

    assert "Error: no customer 'nobody'" in invoke("status", "--customer", "nobody", exit_code=1)
    assert "acme/fresh" in invoke("status", "--customer", "acme")


def test_status_of_an_empty_hub_says_how_to_start(sqlite_url):
    assert "No integrations yet: create one with `ihub integrations create" in invoke("status")


@flow(name=operations.SYNC_FLOW)
def fake_sync(integration: str) -> None:
    """Never run: it only gives the test's flow runs the sync flow's name."""


@flow(name="export-record")
def fake_export(integration: str) -> None:
    """Never run either."""


def flow_run(client, name: str, *states, flow=fake_sync) -> str:
    """A flow run moved through `states` as an orchestrator would have."""
    run = client.create_flow_run(flow, name=name, state=Pending())
    for state in states:
        client.set_flow_run_state(run.id, state, force=True)
    return str(run.id)


def add_log(integration_id: int, flow_run_id: str, status: ActionStatus, trigger: Trigger, minutes_ago: int,
            attempt: int = 1, message: str = "", **counts) -> None:
    started = utcnow() - timedelta(minutes=minutes_ago)
    with session() as db:
        db.add(ActionLog(integration_id=integration_id, action="Import Assets", flow_run_id=flow_run_id,
                         status=status, trigger=trigger, attempt=attempt, message=message, started_at=started,
                         updated_at=started + timedelta(seconds=42), **counts))
        db.commit()


@pytest.mark.usefixtures("prefect_server")
def test_history_joins_the_action_logs_with_the_prefect_flow_runs(sqlite_url):
    from prefect.client.orchestration import get_client

    customer = f"h{uuid.uuid4().hex[:8]}"  # the Prefect server is shared by every test of the session
    ref = f"{customer}/assets"
    with session() as db:
        integration = onboard(db, customer, "vendor", "test vendor", "assets", demo_spec("http://127.0.0.1:9"))

    with get_client(sync_client=True) as client:
        done = flow_run(client, ref, Running(), Completed())
        retried = flow_run(client, ref, Running(), Failed(), AwaitingRetry(), Running(), Completed())
        awaiting = flow_run(client, ref, Running(), Failed(), AwaitingRetry())
        crashed = flow_run(client, ref, Running(), Crashed())
        crashed_retry = flow_run(client, ref, Running(), Failed(), AwaitingRetry(), Running(), Crashed())
        unlogged = flow_run(client, ref, Running(), Crashed(message="Flow run process exited with code 137"))
        flow_run(client, f"{customer}/other", Running(), Completed())  # another integration
        flow_run(client, ref, Running(), Completed(), flow=fake_export)  # another flow, no log of this one
        deployment = client.create_deployment(client.read_flow_by_name(operations.SYNC_FLOW).id, f"{customer}:assets")
        upcoming = [client.create_flow_run_from_deployment(
            deployment, state=Scheduled(scheduled_time=utcnow() + timedelta(hours=hours))) for hours in (1, 25)]

    add_log(integration.id, done, ActionStatus.completed, Trigger.schedule, 50, message="350 records",
            fetched=350, inserted=340, updated=7, unchanged=2, rejected=1)
    add_log(integration.id, retried, ActionStatus.completed, Trigger.retry, 40, attempt=2, fetched=12)
    add_log(integration.id, awaiting, ActionStatus.failed, Trigger.manual, 30, message="HTTP 429 from the vendor")
    add_log(integration.id, crashed, ActionStatus.in_progress, Trigger.manual, 20)
    add_log(integration.id, crashed_retry, ActionStatus.failed, Trigger.schedule, 10, message="HTTP 502")

    out = invoke("history", ref)
    run_row(out, done[:8], "Completed", "schedule", "Import Assets", "42.0 s", "350 read",
            "340 new, 7 updated, 1 rejected", "350 records")
    run_row(out, retried[:8], "Completed", "retry", "attempt 2", "12 read")
    run_row(out, awaiting[:8], "AwaitingRetry (log: Failed)", "HTTP 429")
    run_row(out, crashed[:8], "Crashed (log: In Progress)")
    run_row(out, crashed_retry[:8], "Crashed (log: Failed)", "attempt 1 of 2")  # its second attempt died unlogged
    assert "no action log" not in run_row(out, unlogged[:8], "Crashed", "exited with code 137")
    next_run = run_row(out, str(upcoming[0].id)[:8], "Scheduled", "no action log yet", "—", upcoming[0].name)
    assert str(upcoming[1].id)[:8] not in out  # only the next of the deployment's scheduled runs
    assert f"{customer}/other" not in out and len(history_rows(out)) == 7  # 7 runs, not the export run
    assert out.count(ref) == 1  # the title: a run named after the integration is not named again
    rows = history_rows(out)
    assert rows.index(next_run) < rows.index(run_row(out, unlogged[:8])) < rows.index(run_row(out, crashed_retry[:8])) \
        < rows.index(run_row(out, crashed[:8])) < rows.index(run_row(out, done[:8]))  # newest first

    newest_two = invoke("history", ref, "--limit", "2")
    assert str(upcoming[0].id)[:8] in newest_two and unlogged[:8] in newest_two
    assert crashed_retry[:8] not in newest_two
    assert "Error: no integration 'acme/nope'" in invoke("history", "acme/nope", exit_code=1)
    with session() as db:
        onboard(db, customer, "vendor", "test vendor", "new", demo_spec("http://127.0.0.1:9"))
    assert f"No runs of {customer}/new yet" in invoke("history", f"{customer}/new")


def test_history_without_prefect_still_shows_the_action_logs(sqlite_url):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    integration = make_integration()
    add_log(integration.id, str(uuid.uuid4()), ActionStatus.failed, Trigger.schedule, 5, message="HTTP 503",
            fetched=100)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # nothing listens there
        out = invoke("history", "acme/assets")
    note = row(out, "could not be read")
    assert "ConnectError" in note and "showing the action logs only" in note
    run_row(out, "HTTP 503", "Failed", "schedule", "100 read")
