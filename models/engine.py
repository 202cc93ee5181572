"""Where the hub's database is, and the engine and sessions to reach it.

SQLite under `.ihub/` by default; any SQLAlchemy URL through `IHUB_DATABASE_URL` (PostgreSQL in
production). The schema is owned by Alembic (`migrate`), never by `create_all`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def hub_home() -> Path:
    """The hub's working folder: the SQLite database and Prefect's home live here."""
    return Path(os.environ.get("IHUB_HOME", ".ihub")).absolute()


def database_url() -> str:
    url = os.environ.get("IHUB_DATABASE_URL")
    if url:
        return normalize_url(url)
    home = hub_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'ihub.db'}"


def normalize_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and use the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url`, or for the configured database; one engine (and pool) per URL."""
    return _engine(normalize_url(url) if url else database_url())


@lru_cache(maxsize=16)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the CLI read progress while a flow writes; foreign keys make deletes cascade."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session(url: str | None = None) -> Session:
    return Session(get_engine(url), expire_on_commit=False)


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision, or to `revision` (a no-op when it is there already)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = get_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
