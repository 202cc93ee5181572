"""Write mapped rows into a hub table: one transaction a batch, the dialect's ON CONFLICT.

A row whose content hash is unchanged is not written at all, so a re-sync of unchanged data
costs one indexed read a batch. Either the whole batch is committed or none of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.config import utcnow
from models.engine import get_engine
from models.targets import TABLES

_KEY_CHUNK = 900  # below SQLite's oldest host-parameter limit (999)


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def record_hash(row: dict[str, Any]) -> str:
    encoded = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


@task(name="upsert-records", cache_policy=NO_CACHE)
def upsert_records(rows: list[dict[str, Any]], integration_id: int, target: str, custom_type: str | None = None,
                   database_url: str | None = None) -> UpsertCounts:
    """Insert new records, update changed ones, leave unchanged ones alone; one transaction."""
    table: Table = TABLES[target].__table__
    unique = {row["sync_key"]: row for row in rows}  # a key twice in one batch: the last one wins
    counts = UpsertCounts(unchanged=len(rows) - len(unique))
    engine = get_engine(database_url)
    with engine.begin() as connection:
        known = _known_hashes(connection, table, integration_id, list(unique))
        now = utcnow()
        writes = []
        for key, row in unique.items():
            digest = record_hash(row)
            previous = known.get(key)
            if previous == digest:
                counts.unchanged += 1
                continue
            if previous is None:
                counts.inserted += 1
            else:
                counts.updated += 1
            writes.append({**row, "integration_id": integration_id, "record_hash": digest,
                           "first_seen_at": now, "last_synced_at": now,
                           **({"object_type": custom_type} if custom_type else {})})
        if writes:
            connection.execute(_upsert_statement(engine.dialect.name, table, writes[0]), writes)
    return counts


def _known_hashes(connection, table: Table, integration_id: int, keys: list[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start:start + _KEY_CHUNK]
        query = select(table.c.sync_key, table.c.record_hash).where(
            table.c.integration_id == integration_id, table.c.sync_key.in_(chunk)
        )
        known.update((key, digest) for key, digest in connection.execute(query))
    return known


def _upsert_statement(dialect: str, table: Table, sample: dict[str, Any]):
    insert = {"sqlite": sqlite_insert, "postgresql": pg_insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect}")
    statement = insert(table)
    changing = [name for name in sample if name not in ("integration_id", "sync_key", "first_seen_at")]
    return statement.on_conflict_do_update(
        index_elements=["integration_id", "sync_key"],
        set_={name: statement.excluded[name] for name in changing},
    )

