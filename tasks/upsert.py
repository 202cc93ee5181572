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
from typing import Any, Callable, Collection

import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Date, DateTime, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.config import DEFAULT_UPDATE_TYPES, UpdateType, utcnow
from models.engine import get_engine
from models.records import record_hash
from models.targets import TABLES
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
def upsert_records(rows: list[dict[str, Any]], integration_id: int, target: str,
                   custom_type: str | None = None, *,
                   update_types: Collection[str] = tuple(DEFAULT_UPDATE_TYPES),
                   digests: list[str] | None = None) -> UpsertCounts:
    """Insert new records and update changed ones, as `update_types` allow; one transaction.

    `digests`: each row's `record_hash`, when it was made with the row (a page worker's), else made here."""
    table: Table = TABLES[target].__table__
    create, update = UpdateType.created in update_types, UpdateType.updated in update_types
    if digests is None:
        digests = [record_hash(row) for row in rows]
    # a key twice in one batch: the last one wins
    unique = {row["sync_key"]: (row, digest) for row, digest in zip(rows, digests, strict=True)}
    counts = UpsertCounts(unchanged=len(rows) - len(unique))
    engine = get_engine()
    with engine.begin() as connection:
        known, marked = _known_hashes(connection, table, integration_id, list(unique))
        writes = []
        for key, (row, digest) in unique.items():
            previous = known.get(key)
            returning = key in marked
            if previous == digest and not returning:
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
            writes.append((row, digest))
        if writes:
            same_for_all = {"integration_id": integration_id, "first_seen_at": utcnow(), "last_synced_at": utcnow(),
                            "deleted_at": None}
            if custom_type:
                same_for_all["object_type"] = custom_type
            _execute_many(connection, table, writes, same_for_all)
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


def _execute_many(connection, table: Table, writes: list[tuple[dict[str, Any], str]],
                  same_for_all: dict[str, Any]) -> None:
    """One executemany of the dialect's upsert of `writes`, (row, its content hash) each.

    The bind parameters are prepared here rather than by SQLAlchemy per row and column: a value
    that is the same for the whole batch (the integration, the timestamps) is converted once,
    and each row becomes its parameters in one step (`_row_parameters`). Every row has the same
    keys (the mapper fills each mapped field, with None when it has no value); the rows are read,
    never copied or changed (a retried task writes them again).
    """
    dialect = connection.dialect
    insert = {"sqlite": sqlite_insert, "postgresql": pg_insert}.get(dialect.name)
    if insert is None:
        raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect.name}")
    names = [*same_for_all, *writes[0][0], "record_hash"]
    statement = insert(table).values({name: bindparam(name) for name in names})
    statement = statement.on_conflict_do_update(
        index_elements=["integration_id", "sync_key"],
        set_={name: statement.excluded[name] for name in names if name not in ("integration_id", "sync_key",
                                                                                "first_seen_at")},
    )
    compiled = statement.compile(dialect=dialect)
    parameters = _row_parameters(table, dialect, compiled, same_for_all)
    connection.exec_driver_sql(str(compiled), [parameters(row, digest) for row, digest in writes])


def _row_parameters(table: Table, dialect, compiled, same_for_all: dict[str, Any]) -> Callable[[dict, str], Any]:
    """A function (row, digest) -> the driver's parameters for `compiled`: a tuple in the statement's
    order (SQLite's `?`) or a dict (psycopg's named parameters).

    Written for the statement, as the mapper's `_fast_rows` is for a spec: a million-row sync calls
    it a million times, and the code reads each column once, in C where it can. A column whose type
    converts its values (SQLite's dates and numbers, JSON documents) is converted through its bind
    processor; a date repeats from row to row, so each distinct one is converted once a batch."""
    space: dict[str, Any] = {}
    values = []
    for index, name in enumerate(compiled.positiontup if compiled.positional else compiled.binds):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name in same_for_all:
            space[f"fixed{index}"] = process(same_for_all[name]) if process else same_for_all[name]
            value = f"fixed{index}"
        elif name == "record_hash":
            value = "digest"
        else:
            value = f"row[{name!r}]"
            if process is not None:
                space[f"convert{index}"] = _once_each(process) if _is_date(table.c[name].type) else process
                value = f"convert{index}({value})"
        values.append(value if compiled.positional else f"{name!r}: {value}")
    built = f"({', '.join(values)},)" if compiled.positional else f"{{{', '.join(values)}}}"
    exec(compile(f"def parameters(row, digest):\n    return {built}\n", "<row_parameters>", "exec"), space)
    return space["parameters"]


def _is_date(column_type) -> bool:
    """Dates and times, also behind a TypeDecorator (SQLModel's UTCDateTime)."""
    return isinstance(getattr(column_type, "impl_instance", column_type), (Date, DateTime))


_NOT_MADE = object()


def _once_each(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, remembering what it made of each value (a batch's dates: a few thousand at most)."""
    made: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        result = made.get(value, _NOT_MADE)
        if result is _NOT_MADE:
            result = made[value] = process(value)
        return result
    return convert
