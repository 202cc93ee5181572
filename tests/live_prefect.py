"""A real `prefect server start` on a free loopback port, and `ihub serve` against it, for the
end-to-end tests. The server's database is SQLite or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import psycopg

BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"

PREFECT_NO_REGISTRATION = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}

FAST = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(FAST)
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


@contextmanager
def postgres_database(prefix: str = "ihub_prefect", driver: str = "asyncpg", template: str | None = None
                      ) -> Iterator[str]:
    """A new PostgreSQL database (for Prefect's server by default: its asyncpg URL), a copy of `template`
    if given, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield f"postgresql+{driver}://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def prefect_server(home: Path, database_url: str, migrated: bool = False) -> Iterator[str]:
    """`prefect server start` on a free port; yields its API URL once it answers. On a `migrated` database
    (a copy of a template, tests/prefect_databases.py) it does not register its block types again."""
    port = free_port()
    log = open(home / "server.log", "w")
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=_clean_env(PREFECT_HOME=str(home), PREFECT_API_DATABASE_CONNECTION_URL=database_url,
                       **(PREFECT_NO_REGISTRATION if migrated else {})),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: _healthy(url), 120, f"Prefect server on {url} (see {home / 'server.log'})",
                 process=process)
        yield url
    finally:
        stop(process)
        log.close()


def hub_env(api_url: str, hub_database_url: str, home: Path, **env: str) -> dict[str, str]:
    """The environment of a hub process (serve, deploy, a worker) pointed at the server and the database."""
    return _clean_env(PREFECT_HOME=str(home / "client"), PREFECT_API_URL=api_url,
                      IHUB_DATABASE_URL=hub_database_url, IHUB_HOME=str(home / "ihub"), **env)


@contextmanager
def background(command: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
               ) -> Iterator[subprocess.Popen]:
    """A long-running command (`ihub serve`, a worker) in its own process group, stopped afterwards."""
    log = open(log_path, "w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                               start_new_session=True)
    try:
        yield process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group (a server, or `serve` and its flow-run subprocesses)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


LOOPBACK = httpx.Client(timeout=30)
"""For the tests' own calls to servers on loopback, polls above all: `httpx.get` makes a client, and
with it an SSL context with certifi's CAs, each time (~30 ms of CPU; 9 s a suite run in these polls)."""


def _healthy(url: str) -> bool:
    try:
        return LOOPBACK.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check, seconds: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what} after {seconds} s")
