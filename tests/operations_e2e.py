"""The hub operated through a real Prefect server, as its users do from the UI: `ihub serve`
creates a deployment per integration, a run started through the API (as the UI's Run button
does) completes, a failed run retried through the API (as the UI's Retry does) completes as the
same flow run with one action log, the history reads both, deployments follow the database,
and an interval schedule fires. Once with Prefect on SQLite, once on PostgreSQL: the tests are
collected by two thin modules, test_operations_e2e_sqlite.py and test_operations_e2e_postgresql.py,
each with its `stack` fixture (`running_stack`), so that pytest-xdist (`--dist loadfile`) runs the
two stacks at once on different workers instead of one after the other. The tests run in the order
they are written here; the last one stops `ihub serve`."""

from __future__ import annotations

import uuid
from contextlib import ExitStack, contextmanager
from typing import Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Scheduled
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from tests.conftest import PG_URL
from tests.live_prefect import BIN, background, hub_env, prefect_server, wait_for
from tests.prefect_databases import copy_sqlite_template, migrated_postgres_database

REF = "acme/assets"
DEPLOYMENT = "sync-integration/acme:assets"


__all__ = [  # what each stack's module collects, in this order: the last one stops `ihub serve`
    "test_a_ui_run_a_failed_run_and_its_retry_are_one_log_each_and_the_history_shows_them",
    "test_deployments_follow_the_database_without_a_restart",
    "test_an_interval_schedule_fires_and_its_run_is_logged_as_scheduled",
    "test_ihub_deploy_and_prefect_yaml_put_the_same_runs_on_a_work_pool_that_a_worker_runs",
]


def stack_fixture(database: str):
    """The module-scoped `stack` fixture of a module that runs these tests on `database`."""

    @pytest.fixture(scope="module")
    def stack(tmp_path_factory):
        with running_stack(database, tmp_path_factory) as running:
            yield running

    return stack


@contextmanager
def running_stack(database: str, tmp_path_factory) -> Iterator[dict]:
    """A Prefect server on `database` ("sqlite" or "postgresql"), a hub database on the same kind, the
    demo vendor, an active integration and `ihub serve`; everything stopped and dropped afterwards."""
    from ihub.demo import demo_spec
    from ihub.vendor import make_vendor, running_vendor
    from models.engine import get_engine, migrate

    home = tmp_path_factory.mktemp(f"e2e-{database}")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        if database == "sqlite":
            copy_sqlite_template(home / "prefect.db")
            prefect_db, hub_url = f"sqlite+aiosqlite:///{home / 'prefect.db'}", f"sqlite:///{home / 'ihub.db'}"
        else:
            prefect_db = stack.enter_context(migrated_postgres_database())
            schema = f"ihub_e2e_{uuid.uuid4().hex[:8]}"
            with get_engine(PG_URL).begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
            stack.callback(_drop_schema, schema)
            hub_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        patch.setenv("IHUB_DATABASE_URL", hub_url)
        patch.setenv("IHUB_HOME", str(home / "ihub"))
        migrate(hub_url)
        api_url = stack.enter_context(prefect_server(home, prefect_db, migrated=True))
        stack.enter_context(temporary_settings({PREFECT_API_URL: api_url}))
        # One client for the module's reads: a new one per read (as each `wait_for` poll made) costs ~25 ms
        # of CPU here and a version check on the server; a kept one, ~1 ms.
        client = stack.enter_context(get_client(sync_client=True))
        vendor = make_vendor(assets=120, users=10, token="e2e-" + uuid.uuid4().hex)
        base_url = stack.enter_context(running_vendor(vendor))
        integration = _active_integration(base_url, vendor.token, demo_spec)
        env = hub_env(api_url, hub_url, home)
        serve = stack.enter_context(background([str(BIN / "ihub"), "serve", "--poll", "1"], env, home / "serve.log"))
        wait_for(lambda: _deployment(client, DEPLOYMENT), 90,
                 f"`ihub serve` to create {DEPLOYMENT} (see {home}/serve.log)", process=serve)
        yield {"vendor": vendor, "base_url": base_url, "integration": integration, "home": home,
               "demo_spec": demo_spec, "serve": serve, "env": env, "stack": stack, "client": client}


def _drop_schema(schema: str) -> None:
    from models.engine import get_engine

    with get_engine(PG_URL).begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _active_integration(base_url, token, demo_spec, name="assets", **changes):
    from blocks import ApiTokenCredentials
    from models.config import IntegrationStatus
    from models.engine import session
    from models.integrations import onboard

    spec = demo_spec(base_url, **changes)
    ApiTokenCredentials(token=token).save(spec.auth.block, overwrite=True)
    with session() as db:
        integration = onboard(db, "acme", "vendor", "the demo vendor", name, spec)
        integration.status = IntegrationStatus.active
        db.add(integration)
        db.commit()
        return integration


def _deployment(client, full_name):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(full_name)
    except ObjectNotFound:
        return None


def _finished(client, flow_run_id):
    run = client.read_flow_run(flow_run_id)
    return run if run.state and run.state.is_final() else None


def _run_log(client, flow_run_id) -> list[tuple[int, str]]:
    """The flow run's log lines as the Prefect UI shows them: (level, message), oldest first; empty until
    the flow run's own last line ("Finished in state ..." without a task run) has reached the server: its
    task runs' lines of the same words come earlier."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = sorted(client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))),
                  key=lambda log: log.timestamp)
    if not any(log.task_run_id is None and log.message.startswith("Finished in state") for log in logs):
        return []
    return [(log.level, log.message) for log in logs]


def _logs_of(flow_run_id):
    from models.engine import session
    from models.logs import ActionLog

    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.flow_run_id == str(flow_run_id))).all()


def test_a_ui_run_a_failed_run_and_its_retry_are_one_log_each_and_the_history_shows_them(stack):
    client = stack["client"]
    deployment = _deployment(client, DEPLOYMENT)
    assert deployment.parameters == {"integration": REF}
    assert {"customer:acme", "object:asset"} <= set(deployment.tags)
    assert "Sync acme/assets" in deployment.description
    assert not deployment.paused

    good = client.create_flow_run_from_deployment(deployment.id)
    run = wait_for(lambda: _finished(client, good.id), 90, "the UI-started run to finish")
    assert run.state.is_completed() and run.name == REF
    (log,) = _logs_of(good.id)
    assert (log.status.value, log.trigger.value, log.attempt, log.fetched) == ("Completed", "UI", 1, 120)

    vendor = stack["vendor"]
    token, vendor.token = vendor.token, "rotated-by-the-vendor"
    bad = client.create_flow_run_from_deployment(deployment.id)
    run = wait_for(lambda: _finished(client, bad.id), 90, "the failing run to finish")
    assert run.state.is_failed()
    (log,) = _logs_of(bad.id)
    assert log.status.value == "Failed" and "credentials rejected" in log.message
    assert run.state.message == log.message  # the reason beside "Failed" in the UI, not a traceback
    lines = wait_for(lambda: _run_log(client, bad.id), 30, "the failed run's log to reach the server")
    assert [message for level, message in lines if level >= 40] == [log.message], lines
    assert not [message for _, message in lines if "Traceback" in message], lines
    serve_log = stack["home"] / "serve.log"  # `ihub serve` told the failure on its terminal
    wait_for(lambda: f"✗ {REF}: Failed in " in serve_log.read_text(), 10, "serve to tell the failed run")
    assert "credentials rejected" in serve_log.read_text()

    vendor.token = token  # the operator fixes the cause, then presses Retry
    client.set_flow_run_state(bad.id, Scheduled(name="AwaitingRetry", message="Retry from the UI"), force=True)
    run = wait_for(lambda: (r := _finished(client, bad.id)) and r.run_count == 2 and r, 90, "the retried run to finish")
    assert run.state.is_completed()
    (log,) = _logs_of(bad.id)  # the same flow run: its one log moved on, nothing duplicated
    assert (log.status.value, log.trigger.value, log.attempt) == ("Completed", "retry", 2)
    assert log.inserted == 0 and log.unchanged == 120
    (first,) = log.past_attempts  # ...and it remembers the attempt that failed, and how it was started
    assert (first["number"], first["status"], first["trigger"]) == (1, "Failed", "UI")
    assert "credentials rejected" in first["message"]

    from ihub.cli import app
    from ihub.commands.common import console

    console.width = 400  # the CLI's console is made once, wide enough for the attempts' messages
    result = CliRunner().invoke(app, ["history", REF])
    assert result.exit_code == 0, result.output
    assert str(good.id)[:8] in result.output and str(bad.id)[:8] in result.output
    assert "retry (first: UI)" in result.output and "attempt 1 Failed: credentials rejected" in result.output


def test_deployments_follow_the_database_without_a_restart(stack):
    client = stack["client"]
    from models.config import Integration, IntegrationStatus
    from models.engine import session
    from models.integration_setup import set_schedule

    with session() as db:
        integration = db.get(Integration, stack["integration"].id)
        integration.status = IntegrationStatus.inactive
        db.add(integration)
        db.commit()
    wait_for(lambda: _deployment(client, DEPLOYMENT).paused, 30, "deactivating to pause the deployment")

    with session() as db:
        integration = db.get(Integration, stack["integration"].id)
        set_schedule(db, integration, cron="30 4 * * 1", timezone="Europe/Paris")
        integration.status = IntegrationStatus.active
        db.add(integration)
        db.commit()
    deployment = wait_for(lambda: (d := _deployment(client, DEPLOYMENT)) and not d.paused and d, 30, "re-activation")
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 4 * * 1", "Europe/Paris")

    extra = _active_integration(stack["base_url"], stack["vendor"].token, stack["demo_spec"], name="gone")
    wait_for(lambda: _deployment(client, "sync-integration/acme:gone"), 30, "a new integration's deployment")
    with session() as db:
        db.delete(db.get(Integration, extra.id))
        db.commit()
    wait_for(lambda: _deployment(client, "sync-integration/acme:gone") is None, 30,
             "a deleted integration's deployment")


def test_an_interval_schedule_fires_and_its_run_is_logged_as_scheduled(stack):
    client = stack["client"]
    _active_integration(stack["base_url"], stack["vendor"].token, stack["demo_spec"], name="often",
                        schedule={"interval_seconds": 10})

    def scheduled_log():
        from models.config import Integration
        from models.engine import session
        from models.logs import ActionLog

        with session() as db:
            often = db.exec(select(Integration).where(Integration.name == "often")).one()
            return db.exec(select(ActionLog).where(ActionLog.integration_id == often.id,
                                                   ActionLog.status == "Completed")).first()

    log = wait_for(scheduled_log, 60, "the interval schedule to fire and its run to complete")
    assert log.trigger.value == "schedule" and log.fetched == 120

    from models.config import Integration, IntegrationStatus
    from models.engine import session

    with session() as db:  # quiet again for the tests that follow
        often = db.exec(select(Integration).where(Integration.name == "often")).one()
        often.status = IntegrationStatus.inactive
        db.add(often)
        db.commit()
    wait_for(lambda: _deployment(client, "sync-integration/acme:often").paused, 30, "the schedule to pause")


def test_ihub_deploy_and_prefect_yaml_put_the_same_runs_on_a_work_pool_that_a_worker_runs(stack):
    """Last in the module: it stops `ihub serve`, so that only the worker can run what follows."""
    import subprocess
    from pathlib import Path

    client = stack["client"]
    # SIGTERM to `ihub serve` alone, as `ihub up` stops it: serve then stops the flow runs it started, each
    # told once. (SIGTERM to its process group as well reached a run still starting twice, and Prefect's
    # exit in that run printed a traceback into the log read below: seen once, under load, with the
    # paused schedule's last runs under way.)
    stack["serve"].terminate()
    stack["serve"].wait(30)
    told = (stack["home"] / "serve.log").read_text()
    assert "never awaited" not in told and "Traceback" not in told, told
    assert "Stopped: the deployments' schedules are paused until `ihub serve` starts again." in told
    assert _deployment(client, DEPLOYMENT).paused
    assert f"▶ {DEPLOYMENT}: started flow run " in told and f"✓ {REF}: Completed in " in told  # each run, its end
    assert f"▶ {DEPLOYMENT}: started flow run {REF} (" in told and ", attempt 2" in told  # the retry, renamed by then
    root, env, home = Path(__file__).parent.parent, stack["env"], stack["home"]
    deployed = subprocess.run([str(BIN / "ihub"), "deploy", "--pool", "ihub"], env=env, cwd=root,
                              capture_output=True, text=True, timeout=120)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert DEPLOYMENT in deployed.stdout and "prefect worker start --pool ihub" in deployed.stdout
    # The worker starts on the pool `ihub deploy` made (seconds of imports) while `prefect deploy` runs: no
    # flow run is created before both deploys are done and checked.
    worker = stack["stack"].enter_context(background(
        [str(BIN / "prefect"), "worker", "start", "--pool", "ihub"], {**env, "PREFECT_WORKER_QUERY_SECONDS": "1"},
        home / "worker.log"))
    from_yaml = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env=env, cwd=root,
                               capture_output=True, text=True, timeout=120)
    assert from_yaml.returncode == 0, from_yaml.stdout + from_yaml.stderr
    assert _deployment(client, DEPLOYMENT).work_pool_name == "ihub"
    assert _deployment(client, "run-action-request/perform-queued-request").work_pool_name == "ihub"
    scheduled_one = client.create_flow_run_from_deployment(_deployment(client, DEPLOYMENT).id)
    by_name = client.create_flow_run_from_deployment(_deployment(client, "sync-integration/sync-now").id,
                                                     parameters={"integration": REF})
    for run in (scheduled_one, by_name):
        finished = wait_for(lambda: _finished(client, run.id), 120,
                            f"the worker to run {run.name} (see {home}/worker.log)", process=worker)
        assert finished.state.is_completed(), finished.state.message
        (log,) = _logs_of(run.id)
        assert (log.status.value, log.trigger.value) == ("Completed", "UI")
