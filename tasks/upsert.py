"""Write mapped rows into a hub table: one transaction a batch, the dialect's ON CONFLICT.

A row whose content hash is unchanged is not written at all, so a re-sync of unchanged data
costs one indexed read a batch. Either the whole batch is committed or none of it.

The integration's update types (seed 002) decide which vendor changes are applied: a record
the hub has not seen is inserted only with "created", a changed one is updated only with
"updated"; the others are skipped and counted. A record marked deleted that the vendor returns
again is, from the hub's point of view, created anew: with "created" it is written and its
mark cleared (counted as inserted), without it it stays marked (counted as skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection

import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Table

from models.config import DEFAULT_UPDATE_TYPES, UpdateType, utcnow
from models.engine import get_engine
from models.targets import TABLES
from tasks.bind import BoundRows, bind_rows
from tasks.transient import TASK_RETRIES, TASK_RETRY_DELAYS, retry_transient



@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Vendor changes the update types leave out."""


@task(name="upsert-records", cache_policy=NO_CACHE, retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS,
      retry_condition_fn=retry_transient)
def upsert_records(rows: list[dict[str, Any]] | BoundRows, integration_id: int, target: str,
                   custom_type: str | None = None, *,
                   update_types: Collection[str] = tuple(DEFAULT_UPDATE_TYPES)) -> UpsertCounts:
    """Insert new records and update changed ones, as `update_types` allow; one transaction.

    `rows`: mapped rows, or rows already bound for this database where they were mapped (tasks/bind.py)."""
    table: Table = TABLES[target].__table__
    create, update = UpdateType.created in update_types, UpdateType.updated in update_types
    engine = get_engine()
    bound = rows if isinstance(rows, BoundRows) else bind_rows(rows, target, engine.dialect)
    unique = {values[0]: values for values in bound.values}  # a key twice in one batch: the last one wins
    counts = UpsertCounts(unchanged=len(bound) - len(unique))
    with engine.begin() as connection:
        known, marked = _known_hashes(connection, table, integration_id, list(unique))
        writes = []
        for key, values in unique.items():
            previous = known.get(key)
            returning = key in marked
            if previous == values[-1] and not returning:
                counts.unchanged += 1
                continue
            if previous is None or returning:
                if not create:
                    counts.skipped += 1
                    continue
                counts.inserted += 1
            else:
                if not update:
                    counts.skipped += 1
                    continue
                counts.updated += 1
            writes.append(values)
        if writes:
            same_for_all = {"integration_id": integration_id, "first_seen_at": utcnow(), "last_synced_at": utcnow(),
                            "deleted_at": None}
            if custom_type:
                same_for_all["object_type"] = custom_type
            _execute_many(connection, table, bound.names, writes, same_for_all)
    return counts


KEY_CHUNK = 10_000  # below SQLite's host-parameter limit (32766 since 3.32) and PostgreSQL's (65535)

_KNOWN = {
    # every key of the batch in one bind parameter, rather than one parameter per key (which
    # SQLAlchemy expands and the driver binds one by one, ~10 µs a key)
    "sqlite": "SELECT sync_key, record_hash, deleted_at IS NOT NULL FROM {table} "
              "WHERE integration_id = ? AND sync_key IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT sync_key, record_hash, deleted_at IS NOT NULL FROM {table} "
                  "WHERE integration_id = %s AND sync_key = ANY(%s)",
}


def _known_hashes(connection, table: Table, integration_id: int,
                  keys: list[str]) -> tuple[dict[str, str], set[str]]:
    """The stored hash of each key the hub has, and the keys among them marked deleted."""
    dialect = connection.dialect.name
    if dialect not in _KNOWN:
        raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect}")
    given = orjson.dumps(keys).decode() if dialect == "sqlite" else keys
    cursor = connection.exec_driver_sql(_KNOWN[dialect].format(table=table.name), (integration_id, given))
    known: dict[str, str] = {}
    marked: set[str] = set()
    for key, digest, is_marked in cursor.cursor.fetchall():  # the driver's rows: no Row object per key
        known[key] = digest
        if is_marked:
            marked.add(key)
    return known, marked


def _execute_many(connection, table: Table, names: tuple[str, ...], writes: list[tuple],
                  same_for_all: dict[str, Any]) -> None:
    """One executemany of the dialect's upsert of `writes`, rows bound as `names` (tasks/bind.py).

    The statement takes the values the whole batch shares (the integration, the timestamps), bound once,
    then each row's: one tuple a row, in the statement's order, so the driver gets the rows as they
    are. The rows are read, never changed (a retried task writes them again)."""
    dialect = connection.dialect  # SQLite or PostgreSQL: `_known_hashes` refused any other first
    shared = tuple(_bound(table, dialect, name, value) for name, value in same_for_all.items())
    connection.exec_driver_sql(_upsert_sql(dialect, table.name, (*same_for_all, *names)),
                               [shared + values for values in writes])


def _upsert_sql(dialect, table: str, columns: tuple[str, ...]) -> str:
    """INSERT ... ON CONFLICT (integration_id, sync_key) DO UPDATE, the same in SQLite and PostgreSQL, with
    positional parameters in `columns`' order (SQLAlchemy's own construct binds in the table's order)."""
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    kept = ("integration_id", "sync_key", "first_seen_at")  # the row's identity, and when it was first seen
    return (f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join([marker] * len(columns))}) "
            f"ON CONFLICT (integration_id, sync_key) DO UPDATE SET "
            + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in columns if name not in kept))


def _bound(table: Table, dialect, name: str, value: Any) -> Any:
    process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value
