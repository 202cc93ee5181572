"""Where the hub's database is, and the engine and sessions to reach it.

SQLite in the hub's home by default; any SQLAlchemy URL through `IHUB_DATABASE_URL` (PostgreSQL in
production). The schema is owned by Alembic (`migrate`), never by `create_all`.

SQLAlchemy loads with the first engine, not with this module: `ihub` reads `hub_home` before any command.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"


HOME_FOLDER = ".ihub"


def hub_home() -> Path:
    """The hub's working folder (the SQLite database, Prefect's home, the keys), found the way git
    finds a repository: `IHUB_HOME`, else the nearest `.ihub/` in the working directory or above
    it, else `ihub` in the user's data directory (`$XDG_DATA_HOME`, by default ~/.local/share).

    So a command run from another folder of a project still finds the project's hub, and one run
    anywhere else uses the user's hub instead of starting an empty one where it stands.
    """
    chosen = os.environ.get("IHUB_HOME")
    if chosen:
        return Path(chosen).expanduser().absolute()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / HOME_FOLDER).is_dir():
            return folder / HOME_FOLDER
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).absolute() / "ihub"


def open_hub_home() -> Path:
    """`hub_home()`, made if it is not there yet, saying so on stderr (once, as it is made)."""
    home = hub_home()
    if not home.is_dir():
        home.mkdir(parents=True, exist_ok=True)
        print(f"Creating a new hub in {home} (IHUB_HOME, or a {HOME_FOLDER}/ folder here or above, "
              "chooses another)", file=sys.stderr, flush=True)
    return home


def database_url() -> str:
    url = os.environ.get("IHUB_DATABASE_URL")
    if url:
        return normalize_url(url)
    return f"sqlite:///{open_hub_home() / 'ihub.db'}"


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
    from sqlalchemy import create_engine, event

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
    from sqlmodel import Session

    return Session(get_engine(url), expire_on_commit=False)


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision, or to `revision` (a no-op when it is there already).

    Alembic (with Mako and Pygments) takes longer to import than a quick command takes to run, so
    a database already at the newest revision is recognised without it.
    """
    engine = get_engine(url)
    if revision == "head" and _at_newest_revision(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


_REVISION_LINE = re.compile(r"^(revision|down_revision) = (?:None|'([^']*)')$", re.MULTILINE)


def _newest_revisions() -> set[str] | None:
    """The revisions no other one revises, read from the version files as Alembic writes them;
    None if a file is in another form (a merge, say): then Alembic decides."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        lines = _REVISION_LINE.findall(path.read_text())
        if sorted(name for name, _ in lines) != ["down_revision", "revision"]:
            return None
        for name, revision in lines:
            (revisions if name == "revision" else revised).add(revision)
    return revisions - revised - {""} or None


def _at_newest_revision(engine: Engine) -> bool:
    from sqlalchemy.exc import DBAPIError

    newest = _newest_revisions()
    if newest is None:
        return False
    try:
        with engine.connect() as connection:
            stamped = set(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    except DBAPIError:  # no schema yet, or no database: Alembic says which
        return False
    return stamped == newest
