"""A Prefect server that does not accept a run (503 on creating the flow run, as an overloaded
SQLite-backed server answers): `ihub run` starts it again with backoff, and after the last
attempt ends with one clear line and a Failed action log, counted like any failed run.

A loopback proxy in front of Prefect's test server answers 503 to the first flow-run creations; it
passes everything else on, asking again when the test server itself is busy (its SQLite database
locked by another test's leftover writes), since the client behind it is told not to retry."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from sqlmodel import select
from typer.testing import CliRunner

import ihub.runs
from ihub.cli import app
from models.config import Integration, IntegrationStatus
from models.engine import session
from models.logs import ActionLog
from tests.conftest import make_integration

pytestmark = pytest.mark.usefixtures("prefect_server")
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@contextmanager
def refusing_proxy(upstream: str, refusals: int) -> Iterator[tuple[str, list[int]]]:
    """A proxy to `upstream` answering 503 to the first `refusals` POSTs of a flow run; yields its
    API URL and the statuses it gave those POSTs."""
    creations: list[int] = []
    upstream_client = httpx.Client(timeout=30)  # one for all it forwards: a new one loads certifi's CAs (~30 ms)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "POST" and self.path.rstrip("/").endswith("/flow_runs"):
                if len(creations) < refusals:
                    creations.append(503)
                    return self._answer(503, {"content-type": "application/json"}, b'{"detail":"busy"}')
                creations.append(201)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for _ in range(10):  # the test server's own 503 (SQLite busy) is not a refusal under test
                answer = upstream_client.request(self.command, upstream + self.path.removeprefix("/api"),
                                                 headers=headers, content=body)
                if answer.status_code != 503:
                    break
                time.sleep(0.2)
            self._answer(answer.status_code, answer.headers, answer.content)

        def _answer(self, status: int, headers, content: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", creations
    finally:
        server.shutdown()
        server.server_close()
        upstream_client.close()


@pytest.fixture
def runnable(sqlite_url, vendor, monkeypatch):
    from blocks import ApiTokenCredentials

    url, data = vendor
    integration = make_integration(url)
    ApiTokenCredentials(token=data.token).save("demo-vendor-token", overwrite=True)
    with session() as db:
        row = db.get(Integration, integration.id)
        row.status = IntegrationStatus.active
        db.add(row)
        db.commit()
    monkeypatch.setattr(ihub.runs, "START_BACKOFF_SECONDS", (0.1, 0.1))
    return integration.id


@contextmanager
def through_proxy(refusals: int) -> Iterator[tuple[str, list[int]]]:
    upstream = PREFECT_API_URL.value().rstrip("/")
    with refusing_proxy(upstream, refusals) as (url, creations):
        # Prefect's client would retry each 503 itself (2, 4, 8 ... s): here only the hub retries.
        with temporary_settings({PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 0}):
            try:
                yield url, creations
            finally:
                # The run's log lines go to the API in the background: send them while the proxy is
                # still there, or the next test's output gets Prefect's "Error logging to API".
                APILogWorker.drain_all(timeout=10)


def logs_of(integration_id: int) -> list[ActionLog]:
    with session() as db:
        return db.exec(select(ActionLog).where(ActionLog.integration_id == integration_id)).all()


def test_a_refused_start_is_tried_again_and_the_run_completes(runnable):
    with through_proxy(refusals=2) as (_url, creations):
        result = CliRunner().invoke(app, ["run", "acme/assets"])
    assert result.exit_code == 0, result.output
    assert creations == [503, 503, 201]
    (log,) = logs_of(runnable)
    assert log.status.value == "Completed" and log.fetched == 350


def test_a_start_refused_every_time_fails_in_one_line_with_a_counted_log(runnable):
    with through_proxy(refusals=10) as (url, creations):
        result = CliRunner().invoke(app, ["run", "acme/assets"])
    assert result.exit_code == 1 and creations == [503, 503, 503]
    assert "Traceback" not in result.output
    message = f"the Prefect server at {url} did not accept the run: HTTP 503 after 3 attempts; nothing was synced"
    assert " ".join(result.output.split()) == f"Error: {message}"
    (log,) = logs_of(runnable)
    assert log.status.value == "Failed" and log.message == message and log.finished_at is not None
    with session() as db:
        assert db.get(Integration, runnable).consecutive_failures == 1


def test_ihub_run_goes_without_prefects_heartbeat_thread_which_a_plain_flow_call_starts(runnable, monkeypatch):
    """The hub's heartbeat and reaper tell a dead run; Prefect's heartbeat thread only made each run wait for
    its join (up to a second)."""
    from prefect.flow_engine import FlowRunEngine
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from flows.sync import sync_integration

    started = []
    template = FlowRunEngine._build_heartbeat_event_template
    monkeypatch.setattr(FlowRunEngine, "_build_heartbeat_event_template",
                        lambda engine: started.append(engine.flow_run.name) or template(engine))
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
        result = CliRunner().invoke(app, ["run", "acme/assets"])
        assert result.exit_code == 0, result.output
        assert started == []
        sync_integration("acme/assets")  # the same flow called plainly: Prefect starts its thread
    assert started == ["acme/assets"]
