"""Prefect server databases for the suite's servers, migrated once a run.

A Prefect server on a new database migrates it at start (~4 s of CPU on PostgreSQL, ~7 s on SQLite)
and registers its block types (~1 s), and the suite starts nine. Instead the run's first process (the
pytest-xdist controller, or the lone pytest process) starts one builder process at configure, which
makes a PostgreSQL template database and a SQLite file while the test processes collect. A server's
database is then a copy (`CREATE DATABASE ... TEMPLATE`, a file copy) that its server finds at the
newest revision with the block types in it: it starts without migrating, and is told not to
register them again. `ihub up`'s test still starts on nothing, as a new hub does.

Run as `python -m tests.prefect_databases NAME DIRECTORY`, this module is the builder.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

import psycopg

from tests.live_prefect import PG_ADMIN, postgres_database, prefect_server

ENV = "IHUB_TEST_PREFECT_TEMPLATES"
"""`name:directory:pid` of this run's PostgreSQL template, the directory of the SQLite one and the builder."""
SQLITE = "prefect.db"
WAIT_SECONDS = 180
_builder: subprocess.Popen | None = None


def start_builder() -> None:
    """In the run's first process: start building this run's templates, for every test process to find."""
    global _builder
    name, directory = f"ihub_prefect_template_{uuid.uuid4().hex[:10]}", tempfile.mkdtemp(prefix="ihub-test-prefect-db-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(Path(directory) / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_LOGGING_LEVEL="WARNING")
    with open(Path(directory) / "build.log", "wb") as log:
        _builder = subprocess.Popen([sys.executable, "-m", "tests.prefect_databases", name, directory], env=env,
                                    cwd=Path(__file__).parent.parent, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
    os.environ[ENV] = f"{name}:{directory}:{_builder.pid}"


def stop_builder() -> None:
    """In the run's first process, at the end: the builder stopped (a short run may end before it), the
    templates dropped."""
    if _builder is None:
        return
    _builder.kill()
    _builder.wait()
    name, directory, _ = os.environ.pop(ENV).split(":")
    shutil.rmtree(directory, ignore_errors=True)
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for database in (name, f"{name}_building"):
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    except psycopg.OperationalError:  # no PostgreSQL: nothing was made there
        pass


def postgres_template() -> str | None:
    """The name of this run's PostgreSQL template once it is built (None outside a pytest run)."""
    if ENV not in os.environ:
        return None
    name, _, _ = os.environ[ENV].split(":")

    def built() -> bool:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    _wait(built)
    return name


@contextmanager
def migrated_postgres_database() -> Iterator[str]:
    """A new PostgreSQL database for a Prefect server, a copy of this run's template; its URL; dropped afterwards."""
    with postgres_database(template=postgres_template()) as url:
        yield url


@contextmanager
def migrated_prefect_server(home: Path) -> Iterator[str]:
    """`prefect server start` (tests/live_prefect.py) on a new copy of this run's PostgreSQL template; its API URL."""
    with migrated_postgres_database() as database, prefect_server(home, database, migrated=True) as api_url:
        yield api_url


def copy_sqlite_template(destination: Path) -> bool:
    """This run's SQLite template copied to `destination` once it is built; False outside a pytest run."""
    if ENV not in os.environ:
        return False
    _, directory, _ = os.environ[ENV].split(":")
    template = Path(directory) / SQLITE
    _wait(template.exists)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, destination)
    return True


def _wait(built) -> None:
    _, directory, pid = os.environ[ENV].split(":")
    deadline = time.monotonic() + WAIT_SECONDS
    while not built():
        log = Path(directory) / "build.log"
        if not _alive(int(pid)) and not built():
            raise AssertionError(f"building Prefect's template databases failed:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"Prefect's template databases not built in {WAIT_SECONDS} s:\n{log.read_text()}")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _migrate(url: str) -> None:
    """Prefect's migrations and block types on `url`, as a server does at its first start."""
    import asyncio

    from prefect.server.database import provide_database_interface
    from prefect.server.database.dependencies import temporary_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL, temporary_settings

    async def build() -> None:
        database = provide_database_interface()
        await database.create_db()
        async with await database.session() as session:
            await run_block_auto_registration(session=session)

    with temporary_settings({PREFECT_API_DATABASE_CONNECTION_URL: url}), temporary_database_interface():
        asyncio.run(build())


def _build(name: str, directory: Path) -> None:
    building = f"{name}_building"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {building}")
    _migrate(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{building}")
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:  # a template is copied only without connections
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (building,))
        admin.execute(f"ALTER DATABASE {building} RENAME TO {name}")

    draft = directory / f"building-{SQLITE}"
    _migrate(f"sqlite+aiosqlite:///{draft}")
    finished = directory / f"{SQLITE}.tmp"
    with closing(sqlite3.connect(draft)) as source, closing(sqlite3.connect(finished)) as copy:
        source.backup(copy)  # whatever the write-ahead log still held
        copy.execute("PRAGMA journal_mode=DELETE")
    os.replace(finished, directory / SQLITE)


if __name__ == "__main__":
    _build(sys.argv[1], Path(sys.argv[2]))
