"""Shared fixtures: one Prefect test server for the session, throwaway hub databases, the demo vendor."""

from __future__ import annotations

import base64
import functools
import gc
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import uuid
from contextlib import closing
from pathlib import Path
from typing import Iterator

# Every server, flow-run process and CLI the suite starts imports Prefect: compiled from source each
# time (~7 s of CPU) where PYTHONDONTWRITEBYTECODE is set, read from cached bytecode (~half that)
# otherwise. The suite caches bytecode, for itself and for the processes it starts.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# A test process holds a large heap (Prefect, FastAPI, schemathesis and the tests' own), and each of
# Python's full garbage collections walks all of it: ~0.3 s, 9-12 times a process over six flow-heavy
# modules (10.7 s of CPU in three processes). One full collection where Python makes ten: 2.3 s.
gc.set_threshold(700, 10, 100)  # Python's defaults are (700, 10, 10)

# A Prefect home of this process's own, removed at its end. Made once: a test process imports this file
# twice (as pytest's `conftest` and, from the tests that use its helpers, as `tests.conftest`).
if os.environ.get("IHUB_TEST_PREFECT_HOME_OF") != str(os.getpid()):
    os.environ.update(IHUB_TEST_PREFECT_HOME_OF=str(os.getpid()),
                      PREFECT_HOME=tempfile.mkdtemp(prefix="ihub-test-prefect-"))
PREFECT_HOME = os.environ["PREFECT_HOME"]

# Prefect reads its settings once, at import: quiet and fast before anything imports it.
os.environ.update({
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",  # as `ihub` does: run logs reach the API
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "IHUB_ALLOWED_HOSTS": "127.0.0.0/8,::1,localhost",  # the demo vendor is on loopback, which is refused by default
    # As `ihub` does: blocks are encrypted with a key of our own, not one kept in Prefect's database.
    "PREFECT_SERVER_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    # A request a loaded test server leaves unanswered is asked again after this timeout, 60 s by default.
    "PREFECT_API_REQUEST_TIMEOUT": "20",
})
os.environ.pop("PREFECT_API_URL", None)

import pytest  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

pytest_plugins = ["tests.cpu_times"]  # the ten modules that took the most CPU, after the run

LONGEST_FIRST = ("tests/test_operations_e2e_sqlite.py", "tests/test_operations_e2e_postgresql.py",
                 "tests/console/test_connector_browser.py", "tests/test_update_types.py", "tests/test_api_contract.py",
                 "tests/test_completeness.py", "tests/test_crash_recovery.py", "tests/test_up.py")
"""The files that take longest (a minute or more each, most of it waiting on their servers and processes),
as measured: run first, so that the last test process to finish is not one that just started them."""


def pytest_configure(config) -> None:
    """SIGTERM (a CI job cancelled, `timeout`, xdist's processes killed) stops the run as Ctrl+C does, so the
    fixtures' teardowns stop the servers they started: those run in sessions of their own, out of the signal's reach."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    if not hasattr(config, "workerinput"):  # the run's first process: its test processes inherit the environment
        from tests.prefect_databases import start_builder

        start_builder()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config) -> None:
    """A test process ends here, once it has told the run's first process all it has to tell (xdist's
    "workerfinished", sent at the end of the session) and its fixtures have stopped what they started:
    what Python does after (pytest's last garbage collections, then freeing the whole heap) took 2-7 s
    of CPU a process, and the run waits for its last process to end."""
    shutil.rmtree(PREFECT_HOME, ignore_errors=True)
    if hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    from tests.prefect_databases import stop_builder

    stop_builder()


def pytest_collection_modifyitems(items) -> None:
    first = {path: rank for rank, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: first.get(item.nodeid.split("::", 1)[0], len(first)))  # stable: the rest as collected


def pytest_xdist_make_scheduler(config, log):
    """`make test`'s processes take the test files one at a time (xdist's loadfile) in the order above,
    except the console's browser files, which one process takes together: each process that runs one pays
    ~10 s of CPU for Chromium, the shared console app and its first reach of Prefect
    (tests/console/conftest.py). (xdist's own order, most tests first, started the two end-to-end files,
    four tests each, last.)"""
    from xdist.scheduler import LoadFileScheduling

    config.option.loadscopereorder = False

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/console/*_browser.py" if path.startswith("tests/console/") and path.endswith(
                "_browser.py") else path

    return Scheduling(config, log)


@functools.cache
def hub_app(admin_token: str):
    """The hub's app (REST API and console) for `admin_token`, made once a test process and shared by the
    tests that call it: it keeps nothing of a request, and reads the hub's database from IHUB_DATABASE_URL
    at each one. A new app costs ~0.15-0.25 s of CPU at its first requests (FastAPI builds every included
    route's models then): 11 s over the modules that made one a test."""
    from ihub.api.app import create_app

    return create_app(admin_token)


PG_URL = os.environ.get("IHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect server for the test process (a new one costs seconds of CPU), on a PostgreSQL
    database of its own, dropped afterwards; yields its API URL.

    Not SQLite, as Prefect's test harness has it: under three test processes its server now and
    then left a request unanswered for about 60 s, its SQLite busy timeout (most likely another of
    its connections held the write lock; seen: four such stalls in one run, on POST /artifacts/ and
    block reads).
    PostgreSQL also migrates in half the CPU (3.6 s against 7.4 s).

    The services that work on what no test reads are off: the task run recorder, which turns the task
    runs' events into task runs (the only test that reads task runs, tests/test_run_graph.py, starts a
    whole server of its own; the recorder took about 7 s of CPU a test process), the event persister
    and the automations' triggers (a quarter of the server's CPU under tests/test_update_types.py and
    test_completeness.py: 25.7 and 21.2 s against 19.4 and 19.5), and those that look for late,
    paused, cancelled or lost runs and offline workers. The scheduler stays: tests deploy schedules.

    With none of those services, nothing on the server keeps or reads an event: the test process sends
    it none (Prefect's `NullEventsClient`, as Prefect's own test harness overrides the events client).
    Each in-process run's events were serialized, sent over a websocket, validated and dropped: about
    a tenth of the CPU of the modules that run flows in-process (53.6-54.7 s against 58.2-63.7 s over
    test_update_types, test_completeness, test_concurrency and test_export). A test that reads what
    events make (tests/test_run_graph.py) starts a server of its own and sends them there."""
    import prefect.settings
    from prefect.events.clients import NullEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (PREFECT_API_BLOCKS_REGISTER_ON_START, PREFECT_API_URL,
                                  PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_SERVER_DATABASE_CONNECTION_URL,
                                  temporary_settings)

    from tests.live_prefect import free_port
    from tests.prefect_databases import migrated_postgres_database

    unread = ("TASK_RUN_RECORDER", "EVENT_PERSISTER", "TRIGGERS", "LATE_RUNS", "PAUSE_EXPIRATIONS",
              "CANCELLATION_CLEANUP", "REPOSSESSOR", "FOREMAN")
    with migrated_postgres_database() as database, temporary_settings({
        PREFECT_SERVER_DATABASE_CONNECTION_URL: database,
        PREFECT_API_BLOCKS_REGISTER_ON_START: False,  # a copy of the run's template (tests/prefect_databases.py)
        **{getattr(prefect.settings, f"PREFECT_SERVER_SERVICES_{service}_ENABLED"): False for service in unread},
    }):
        server = SubprocessASGIServer(port=free_port())  # given the settings above, in its environment
        SubprocessASGIServer._instances[None] = server  # where Prefect's clients look for the local server
        EventsWorker.set_client_override(NullEventsClient)
        try:
            server.start(timeout=240)
            with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                yield server.api_url
                drain_prefect_workers()
        finally:
            EventsWorker.set_client_override(None)
            server.stop()
            SubprocessASGIServer._instances.pop(None, None)


def drain_prefect_workers() -> None:
    """Send the logs and events still queued before the server stops, as Prefect's test harness does."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    try:
        APILogWorker.instance().drain()
    except RuntimeError:  # never started
        pass
    EventsWorker.drain_all()


# Each test gets a fresh hub database, copied from one migrated once per test process: running
# Alembic for every test cost ~0.06 s of CPU and 0.15-0.7 s of waiting (PostgreSQL's DDL) a database.


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A hub database file migrated to the newest revision, for `sqlite_url` to copy."""
    from models.engine import get_engine, migrate

    path = tmp_path_factory.mktemp("migrated") / "ihub.db"
    migrate(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite, tmp_path, monkeypatch) -> str:
    """A fresh hub database file, migrated, and made the hub's database for this test."""
    path = tmp_path / "ihub.db"
    with closing(sqlite3.connect(migrated_sqlite)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)  # whole pages, whatever the journal mode: the copy is the migrated database
    url = f"sqlite:///{path}"
    monkeypatch.setenv("IHUB_DATABASE_URL", url)
    monkeypatch.setenv("IHUB_HOME", str(tmp_path / "home"))
    return url


def _pg_admin(statement: str) -> None:
    """CREATE or DROP DATABASE, which cannot run inside a transaction."""
    import psycopg

    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(scope="session")
def migrated_pg() -> Iterator[str]:
    """A PostgreSQL database migrated to the newest revision (this process's own), the template of
    `pg_url`'s databases; dropped at the end of the session."""
    from models.engine import get_engine, migrate

    name = f"ihub_template_{uuid.uuid4().hex[:10]}"
    _pg_admin(f"CREATE DATABASE {name}")
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        get_engine(url).dispose()  # a template must have no connections when it is copied
        yield name
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(migrated_pg, monkeypatch) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated (a copy of the template); dropped afterwards."""
    from models.engine import get_engine

    name = f"ihub_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {migrated_pg}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("IHUB_DATABASE_URL", url)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Run a test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def sent_times(monkeypatch) -> list[float]:
    """When each vendor request left the hub (noted after the retry policy paced it): a rate limit is
    counted there, not at the vendor, whose arrivals bunch up when a loaded machine stalls."""
    import time

    from tasks.http import RetryPolicy

    sent: list[float] = []
    pace = RetryPolicy.pace

    def noted_pace(policy, *args):
        pace(policy, *args)
        sent.append(time.monotonic())

    monkeypatch.setattr(RetryPolicy, "pace", noted_pace)
    return sent


@pytest.fixture
def vendor():
    """The demo vendor on a free loopback port: yields (base URL, its data)."""
    from ihub.vendor import make_vendor, running_vendor

    data = make_vendor(assets=350, users=40, token="test-token-" + uuid.uuid4().hex)
    with running_vendor(data) as url:
        yield url, data


@pytest.fixture
def integration(db_url):
    """A customer, an endpoint and an integration row (spec from the demo YAML), for upsert tests."""
    return make_integration()


def make_integration(base_url: str = "http://127.0.0.1:9", name: str = "assets", **spec_changes):
    """The demo spec pointed at `base_url` (with `spec_changes`), saved for customer `acme`."""
    from ihub.demo import demo_spec
    from models.engine import session
    from models.integrations import onboard

    with session() as db:
        return onboard(db, "acme", "vendor", "test vendor", name, demo_spec(base_url, **spec_changes))


def stored_assets(integration_id: int) -> dict:
    """The hub's assets of an integration, by sync key."""
    from sqlmodel import select

    from models.engine import session
    from models.records import Asset

    with session() as db:
        return {a.sync_key: a for a in db.exec(select(Asset).where(Asset.integration_id == integration_id))}
