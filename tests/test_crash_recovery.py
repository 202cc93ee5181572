"""Crashed runs heal themselves: a run killed with `kill -9` mid-run is reaped when the next run
starts (its log closed Failed and counted, its flow run Crashed, its lease given back), so the
re-run starts within seconds and completes with the table equal to the vendor's data; `ihub
serve`'s poll reaps a run on another host whose heartbeat stopped; a slow Prefect server fails a
run with one clear line instead of a false "skipped"; lease names are unique across hub
databases. The killed run is a real subprocess against the session's Prefect server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import (PREFECT_API_REQUEST_TIMEOUT, PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES,
                              temporary_settings)
from prefect.states import Running
from sqlmodel import select

from flows.orchestration import LeaseNotGranted, lease_name, one_run_at_a_time
from flows.sync import sync_integration
from ihub.vendor import Fault, make_vendor, running_vendor
from models.config import Integration, IntegrationStatus, utcnow
from models.engine import session
from models.logs import ActionLog, ActionStatus, RunLog
from tests.conftest import make_integration, stored_assets
from tests.live_prefect import wait_for

pytestmark = pytest.mark.usefixtures("prefect_server")

ROOT = Path(__file__).resolve().parent.parent
KILLED_RUN = "from flows.sync import sync_integration; sync_integration('acme/assets')"
STARTED_WITHIN_SECONDS = 5.0


@pytest.fixture
def slow_vendor():
    """The demo vendor with 400 assets, read 50 a page at 4 pages a second: a run takes seconds."""
    data = make_vendor(assets=400, users=0, token="crash-token-" + os.urandom(8).hex())
    with running_vendor(data) as url:
        yield url, data


def active_integration(url: str, token: str, **values) -> Integration:
    from blocks import ApiTokenCredentials

    ApiTokenCredentials(token=token).save("demo-vendor-token", overwrite=True)
    integration = make_integration(url, batch_records=50, http={"requests_per_second": 4},
                                   pagination={"type": "offset", "limit": 50, "total_path": "meta.total"})
    with session() as db:
        found = db.get(Integration, integration.id)
        for name, value in {"status": IntegrationStatus.active, **values}.items():
            setattr(found, name, value)
        db.add(found)
        db.commit()
        return found


def logs(integration_id: int) -> list[ActionLog]:
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)
                       .order_by(ActionLog.id)).all()


def start_killable_run(tmp_path: Path) -> subprocess.Popen:
    """`sync_integration` in its own process, on the same Prefect server and hub database as the test."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", KILLED_RUN], env=env, cwd=ROOT,
                            stdout=open(tmp_path / "killed-run.log", "w"), stderr=subprocess.STDOUT)


def test_a_run_killed_mid_run_is_reaped_and_the_re_run_starts_within_seconds(db_url, slow_vendor, tmp_path):
    url, data = slow_vendor
    integration = active_integration(url, data.token, error_threshold=1)  # one counted failure disables it
    run = start_killable_run(tmp_path)
    try:
        wait_for(lambda: any(log.fetched >= 100 for log in logs(integration.id)), 60,
                 f"the run to commit its first batches (see {tmp_path / 'killed-run.log'})", process=run)
        data.faults.append(Fault(200, delay=4))  # the next page hangs: the kill lands mid-run
        wait_for(lambda: not data.faults, 10, "the run to ask for the slow page")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    killed_at = utcnow()
    (crashed,) = logs(integration.id)
    assert crashed.status == ActionStatus.in_progress and 100 <= crashed.fetched < 400  # what kill -9 leaves

    state = sync_integration("acme/assets", return_state=True)

    crashed, rerun = logs(integration.id)
    started_after = (rerun.started_at - killed_at).total_seconds()
    print(f"\n{db_url.partition(':')[0]}: the re-run started {started_after:.2f} s after the kill")
    assert state.is_completed() and state.name != "Skipped", state.message
    assert rerun.status == ActionStatus.completed and started_after < STARTED_WITHIN_SECONDS
    assert crashed.status == ActionStatus.failed and crashed.finished_at is not None
    assert crashed.message.startswith("crashed: no heartbeat since ")
    assert f"its process {run.pid} on {socket.gethostname()} is gone" in crashed.message
    with session() as db:
        found = db.get(Integration, integration.id)
        assert not db.exec(select(ActionLog).where(ActionLog.status == ActionStatus.in_progress)).all()
    assert found.status == IntegrationStatus.disabled and found.disabled_reason == crashed.message  # counted
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(crashed.flow_run_id).state.is_crashed()
        assert client.read_global_concurrency_limit_by_name(lease_name(found.uid)).active_slots == 0
    stored = stored_assets(integration.id)
    assert {key: asset.name for key, asset in stored.items()} == {
        str(record["id"]): record["name"] for record in data.records["assets"]}


def test_the_serve_poll_reaps_a_run_on_another_host_whose_heartbeat_stopped(sqlite_url, monkeypatch):
    from deployments.reconcile import Reconciler

    monkeypatch.setenv("IHUB_HEARTBEAT_SECONDS", "30")
    dead, alive = make_integration(name="dead"), make_integration(name="alive")
    runs = {}
    with get_client(sync_client=True) as client:
        for integration in (dead, alive):
            run = client.create_flow_run(_flow(), name=integration.name, state=Running())
            response = client.increment_concurrency_slots_with_lease(
                names=[_limit(client, integration.uid)], slots=1, mode="concurrency", lease_duration=300)
            RunLog(integration.id, "Import Assets", "schedule", str(run.id), lease_id=response.json()["lease_id"])
            runs[integration.name] = run
    with session() as db:  # both started on another machine 11 minutes ago; one stopped beating 10 minutes ago
        for log in db.exec(select(ActionLog)).all():
            log.host, log.started_at = "worker-7", utcnow() - timedelta(minutes=11)
            db.add(log)
        stale = db.get(Integration, dead.id)
        stale.last_heartbeat_at = utcnow() - timedelta(minutes=10)
        db.add(stale)
        db.commit()

    async def apply(deployment):
        return None

    changes = anyio.run(Reconciler(apply=apply).run_once)

    (line,) = changes.reaped
    assert "crashed: no heartbeat since" in line and "none for more than 120 s" in line
    (reaped,), (untouched,) = logs(dead.id), logs(alive.id)
    assert reaped.status == ActionStatus.failed and untouched.status == ActionStatus.in_progress
    with session() as db:
        assert db.get(Integration, dead.id).consecutive_failures == 1
        assert db.get(Integration, alive.id).consecutive_failures == 0
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(runs["dead"].id).state.is_crashed()
        assert client.read_flow_run(runs["alive"].id).state.is_running()
        assert client.read_global_concurrency_limit_by_name(lease_name(dead.uid)).active_slots == 0
        assert client.read_global_concurrency_limit_by_name(lease_name(alive.uid)).active_slots == 1


def _flow():
    from prefect import flow

    @flow(name="sync-integration")
    def stand_in():  # only its name matters: the flow runs are created, never run here
        pass

    return stand_in


def _limit(client, uid: str) -> str:
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    name = lease_name(uid)
    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    return name


@contextmanager
def silent_server():
    """A 'Prefect server' on loopback that accepts connections and never answers: as slow as it gets."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_prefect_server_too_slow_to_grant_the_lease_fails_clearly_instead_of_skipping():
    uid = "0" * 32
    with silent_server() as url, temporary_settings({PREFECT_API_URL: url, PREFECT_API_REQUEST_TIMEOUT: 0.3,
                                                     PREFECT_CLIENT_MAX_RETRIES: 1}):
        started = time.monotonic()
        with pytest.raises(LeaseNotGranted) as raised:
            with one_run_at_a_time(1, uid):
                pytest.fail("the lease cannot have been granted")
    message = str(raised.value)
    assert message.startswith(f"the Prefect server was too slow to grant the run's lease ihub-integration-{uid} "
                              "(ReadTimeout, after retrying)")
    assert "\n" not in message and time.monotonic() - started < 30


def test_a_taken_lease_is_another_run_only_while_another_run_is_in_progress(sqlite_url, monkeypatch):
    from uuid import uuid4

    from prefect.concurrency.sync import concurrency

    from flows.orchestration import AlreadyRunning

    monkeypatch.setenv("IHUB_CONCURRENT_RUN_WAIT_SECONDS", "0.5")
    integration = make_integration()
    with get_client(sync_client=True) as client:
        _limit(client, integration.uid)
    with concurrency(lease_name(integration.uid), occupy=1, strict=True):  # held, by no run the hub knows of
        with pytest.raises(LeaseNotGranted, match="is taken, but no run of this integration is in progress"):
            with one_run_at_a_time(integration.id, integration.uid):
                pytest.fail("the slot is taken")
        RunLog(integration.id, "Import Assets", "schedule", str(uuid4()))  # the run holding it, alive here
        with pytest.raises(AlreadyRunning):
            with one_run_at_a_time(integration.id, integration.uid):
                pytest.fail("the slot is taken")


def test_lease_names_do_not_collide_between_two_hub_databases(tmp_path, monkeypatch):
    from models.engine import migrate

    names = []
    for hub in ("first", "second"):
        url = f"sqlite:///{tmp_path / hub}.db"
        monkeypatch.setenv("IHUB_DATABASE_URL", url)
        migrate(url)
        integration = make_integration()
        assert integration.id == 1 and len(integration.uid) == 32
        names.append(lease_name(integration.uid))
    assert names[0] != names[1] and all(name.startswith("ihub-integration-") for name in names)


def test_the_migration_gives_existing_integrations_a_uid_each(tmp_path):
    from sqlalchemy import text

    from models.engine import get_engine, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0004")
    with get_engine(url).begin() as connection:
        connection.execute(text("INSERT INTO customer (name, created_at) VALUES ('acme', '2026-01-01')"))
        connection.execute(text("INSERT INTO integration_endpoint (customer_id, name, description, connected, "
                                "status_message, created_at) VALUES (1, 'vendor', '', 0, '', '2026-01-01')"))
        for name in ("assets", "people"):
            connection.execute(text(
                "INSERT INTO integration (customer_id, endpoint_id, name, source, status, author, support_contact, "
                "update_types, deleted_mode, alert_emails, error_threshold, consecutive_failures, disabled_reason, "
                "flow_retries, flow_retry_delay_seconds, created_at) VALUES (1, 1, :name, 'connector', 'Inactive', "
                "'', '', '[]', 'mark', '[]', 5, 0, '', 0, 60, '2026-01-01')"), {"name": name})
    migrate(url)
    with get_engine(url).begin() as connection:
        uids = [row[0] for row in connection.execute(text("SELECT uid FROM integration"))]
    assert len(uids) == 2 and len(set(uids)) == 2 and all(len(uid) == 32 for uid in uids)


@pytest.mark.parametrize("first", ["hook", "reaper"])
def test_the_crash_hook_and_a_reaper_close_and_count_a_crashed_run_once(sqlite_url, first):
    from uuid import uuid4

    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Crashed

    from flows.hooks import count_outcome
    from flows.reap import reap_crashed

    integration = make_integration()
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_flow(), name="assets", state=Running())
        response = client.increment_concurrency_slots_with_lease(
            names=[_limit(client, integration.uid)], slots=1, mode="concurrency", lease_duration=300)
    RunLog(integration.id, "Import Assets", "schedule", str(run.id), lease_id=response.json()["lease_id"])
    with session() as db:  # its process is gone: a pid no process has
        (log,) = db.exec(select(ActionLog)).all()
        log.pid = 2 ** 22 + 1
        db.add(log)
        db.commit()

    def hook():
        count_outcome(None, FlowRun(id=run.id, name="assets", flow_id=uuid4()),
                      Crashed(message="Flow run infrastructure exited with non-zero status code -9."))

    steps = [hook, reap_crashed] if first == "hook" else [reap_crashed, hook]
    for step in steps:
        step()

    (log,) = logs(integration.id)
    assert log.status == ActionStatus.failed
    assert log.message.startswith("the run crashed (Flow run" if first == "hook" else "crashed: no heartbeat since")
    with session() as db:
        assert db.get(Integration, integration.id).consecutive_failures == 1
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(lease_name(integration.uid)).active_slots == 0


@contextmanager
def prefect_slow_on_leases(api_url: str, delay: float):
    """A loopback proxy in front of the Prefect server that holds every lease request for `delay` s."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    upstream, released = httpx.Client(timeout=30), threading.Event()
    base = api_url.rstrip("/").removesuffix("/api")

    class Forward(BaseHTTPRequestHandler):
        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/increment-with-lease"):
                released.wait(delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = upstream.request(self.command, base + self.path, content=body, headers=headers)
            try:
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting, as it should
                pass

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    proxy.daemon_threads = True
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/api"
    finally:
        released.set()
        proxy.shutdown()
        proxy.server_close()
        upstream.close()


def test_a_run_that_a_slow_prefect_server_cannot_give_its_lease_fails_with_one_clear_line(sqlite_url, vendor):
    from prefect.logging.handlers import APILogHandler

    url, data = vendor
    integration = active_integration(url, data.token)
    with prefect_slow_on_leases(PREFECT_API_URL.value(), delay=20) as slow, temporary_settings(
            {PREFECT_API_URL: slow, PREFECT_API_REQUEST_TIMEOUT: 2, PREFECT_CLIENT_MAX_RETRIES: 1}):
        state = sync_integration("acme/assets", return_state=True)
        APILogHandler().flush()  # the run's logs reach the server before the proxy closes
    assert state.is_failed() and state.name != "Skipped"
    (log,) = logs(integration.id)
    assert log.status == ActionStatus.failed and log.fetched == 0
    assert log.message.startswith("the Prefect server was too slow to grant the run's lease "
                                  f"ihub-integration-{integration.uid} (ReadTimeout, after retrying)")
    with session() as db:
        assert db.get(Integration, integration.id).consecutive_failures == 1
